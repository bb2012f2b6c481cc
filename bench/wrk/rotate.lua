-- wrk script for bench/web.py: rotate over the paths in a file, and report the run as one line.
--
--   wrk -t2 -c16 -d5s --latency -s bench/wrk/rotate.lua http://127.0.0.1:PORT -- PATHS_FILE THREADS START
--
-- PATHS_FILE holds one path per line ("/search?q=falls"), already in the order wanted (bench/web.py
-- shuffles the search queries). Each wrk thread starts at its own share of the list, counted from
-- line START (0-based; bench/web.py passes where the previous run over the list stopped), and walks
-- it in order, wrapping round, so runs of fewer requests than paths ask each path at most once.
--
-- done() prints one line "WRK-JSON {...}" with the request count, duration, wrk's error counts
-- and the latency at 1,000 evenly spaced quantiles (0.05%, 0.15%, ... 99.95%, in microseconds),
-- so that bench/web.py can merge several short runs into one latency distribution.

local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

local paths = {}
local position = 1

function init(args)
   local file = assert(io.open(args[1], "r"), "cannot open the paths file " .. tostring(args[1]))
   for line in file:lines() do
      if #line > 0 then
         table.insert(paths, line)
      end
   end
   file:close()
   assert(#paths > 0, "the paths file is empty")
   -- id was set by setup(); THREADS (wrk's -t) and START come after the file name.
   local share = math.floor(#paths / math.max(tonumber(args[2]) or 1, 1))
   position = ((tonumber(args[3]) or 0) + id * share) % #paths + 1
end

function request()
   local path = paths[position]
   position = position % #paths + 1
   return wrk.format("GET", path)
end

function done(summary, latency, requests)
   local quantiles = {}
   for i = 0, 999 do
      quantiles[#quantiles + 1] = string.format("%d", latency:percentile((i + 0.5) / 10))
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d, "latency_us": [%s]}\n',
      summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, table.concat(quantiles, ", ")))
end
