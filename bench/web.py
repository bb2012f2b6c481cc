"""Web benchmark: the site's pages at 10,000 entries, served as ``make run`` serves them, against a ceiling.

1. Loads N generated entries (:mod:`bench.corpus`, written as content files by
   :func:`bench.import.write_files`) through the real path: ``flask db upgrade``, ``flask kb import``,
   ``flask kb index check --repair`` — the Makefile's ``db``, ``content`` and ``index`` targets —
   into a fresh instance folder. ``--instance DIR`` instead copies an instance folder built before
   (e.g. by ``bench.import``; ``--database FILE`` if its SQLite file lives elsewhere) and runs the
   ``db`` and ``index`` steps on the copy. The folder given is never written to.
2. Serves it as ``make run`` does: ``gunicorn --config gunicorn.conf.py`` with the Makefile's
   ``PORT`` and ``KB_BASE_URL`` (plus ``PYTHONFAULTHANDLER=1``, so that a crashing worker says
   where), and beside it, under the same gunicorn settings, ``bench/ceiling_app.py``: a bare
   Flask + Jinja page of 20 items, the ceiling.
3. Drives each kind of page — home, site, theme, entry, glossary, search — with wrk (Debian's
   ``wrk``; ``bench/wrk/rotate.lua`` rotates over many URLs: every site and theme, 1,000 entries,
   1,000+ distinct searches in random order) at 16 connections, each slice of the app next to a
   slice of the ceiling, so that background load hits both alike:

   * **cold**: a fresh server for each kind, its first ``--cold-seconds`` from the moment it is ready;
   * **warm**: one server; every URL of every kind but search asked once (unmeasured: a server
     that has run a while has stored those pages), a short unmeasured slice of each kind, then
     ``--rounds`` rounds of ceiling, home, ceiling, site, ... of ``--seconds`` each;
   * **soak**: the same server, all kinds mixed, until it has answered ``--soak-requests`` more
     requests (or ``--soak-seconds`` pass), sampling each gunicorn process's resident memory
     (``VmRSS``) and open files (``/proc/PID/fd``).

   Prints requests/s, p50/p99, the fraction of the ceiling, status counts from gunicorn's access
   log, and anything alarming gunicorn logged (5xx, tracebacks, worker crashes), with the load
   average at the start and the end. Figures are only comparable on a quiet machine.

Run: ``.venv/bin/python -m bench.web`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

import requests
from werkzeug.exceptions import BadRequest

from bench import corpus
from bench.queries import QUERIES
from kb.config import PROJECT_ROOT
from kb.services.filters import Filters
from tests.live_server import Server, free_port, server_command, stop_group, wait_until_serving

WRK = Path("/usr/bin/wrk")
LUA = Path(__file__).resolve().parent / "wrk" / "rotate.lua"
KINDS = ("home", "site", "theme", "entry", "glossary", "search")
WORKERS = 2  # gunicorn.conf.py's workers
TARGETS = {"search": (0.08, 300.0)}  # fraction of the ceiling, p99 ms; other kinds: 50%, no p99 target
ACCESS = re.compile(r'^\S+ "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')
ALARMING = re.compile(r"SIG[A-Z]+|WORKER TIMEOUT|\[ERROR\]|\[CRITICAL\]|exited with code|Segmentation fault")
BLOCK = re.compile(r"^(Traceback \(most recent call last\)|Fatal Python error)")
KB_FRAME = re.compile(r'File "[^"]*/(kb|templates)/([^"]+?)(?:\.py)?", line (\d+),? in (\S+)')


# --- pure parts (tests/unit/test_bench_web.py) -------------------------------------------------

def parse_wrk(output: str) -> dict:
    """The ``WRK-JSON`` line that bench/wrk/rotate.lua's done() prints. :raise ValueError: if absent."""
    for line in output.splitlines():
        if line.startswith("WRK-JSON "):
            return json.loads(line.removeprefix("WRK-JSON "))
    raise ValueError(f"wrk printed no WRK-JSON line:\n{output[-2000:]}")


def merged_percentile(runs: list[dict], percent: float) -> float:
    """The ``percent`` latency (ms) of several wrk runs taken together, each weighted by its requests.

    Each run's 1,000 quantiles stand for equal shares of its requests.
    """
    points = sorted((q, run["requests"] / len(run["latency_us"])) for run in runs for q in run["latency_us"])
    total = sum(weight for _, weight in points)
    if not total:
        return float("nan")
    wanted, seen = total * percent / 100, 0.0
    for value, weight in points:
        seen += weight
        if seen >= wanted - 1e-9:
            return value / 1000
    return points[-1][0] / 1000


def access_entry(line: str) -> tuple[str, int] | None:
    """``(path, status)`` of one line of gunicorn's access log (gunicorn.conf.py's format), else None."""
    match = ACCESS.match(line)
    return (match["path"], int(match["status"])) if match else None


def alarms_in(lines: list[str]) -> list[str]:
    """The alarming lines of gunicorn's log (access lines left out), one line per alarm.

    A Python traceback or a faulthandler dump ("Fatal Python error: Segmentation fault") becomes
    one line: its first line, the app's own frames in the crashing thread (innermost last), and
    the line that ends it (the exception, for a traceback).
    """
    alarms, i = [], 0
    while i < len(lines):
        line = lines[i]
        if BLOCK.match(line):
            # A traceback's frames are all the crashing thread's; a faulthandler dump lists the
            # "Current thread" (the one that crashed) and then every other thread.
            frames, end, j, crashing = [], "", i + 1, line.startswith("Traceback")
            while j < len(lines):
                if lines[j].startswith(("Current thread", "Thread 0x")):
                    crashing = lines[j].startswith("Current")
                elif lines[j].strip() and not lines[j].startswith((" ", "Extension modules")):
                    end = lines[j].strip() if line.startswith("Traceback") else ""
                    j += 1 if end else 0
                    break
                frame = KB_FRAME.search(lines[j])
                if frame and crashing:
                    frames.append(f"{frame[1]}/{frame[2]}:{frame[3]} {frame[4]}")
                j += 1
            if line.startswith("Fatal"):
                frames.reverse()  # faulthandler lists the innermost frame first
            alarms.append(" | ".join(part for part in (line.strip(), " > ".join(frames[-6:]), end) if part))
            i = j
            continue
        if ALARMING.search(line):
            alarms.append(line.strip())
        i += 1
    return alarms


def search_paths(rng: random.Random, at_least: int = 1000) -> list[str]:
    """At least ``at_least`` distinct /search URLs in random order: bench/queries.py's queries, then
    words and phrases of the corpus's vocabulary (common, rare and never seen, alone, paired and
    filtered). Typed filters are moved into URL parameters as the search page's redirect would."""
    words = [w for slot in "NCPROG" for w in corpus.VOCAB[slot]]
    candidates = list(QUERIES) + words + corpus.TAIL[:300] + corpus.PLACES[:100]
    sites = [slug for slug, _ in corpus.load_sites()]
    while len(set(candidates)) < at_least * 1.2:
        first, second = rng.choice(words), rng.choice(words + corpus.TAIL[:2000])
        candidates += [f"{first} {second}", f'"{first}" site:{rng.choice(sites)}', f"{first} OR {second}"]
    paths = []
    for query in dict.fromkeys(candidates):
        try:
            args = Filters.from_args({"q": query}).to_args()
        except BadRequest:
            continue
        paths.append("/search?" + urlencode(args))
    paths = list(dict.fromkeys(paths))
    rng.shuffle(paths)
    return paths


def fraction_line(kind: str, runs: list[dict], ceiling: list[dict]) -> str:
    """One row of a results table, saying whether it meets issue 11's target for its kind."""
    rps, ceiling_rps = rate(runs), rate(ceiling)
    if not rps:
        return f"{kind:9} no request finished within the slice (wrk counts only those that do)"
    share = rps / ceiling_rps if ceiling_rps else float("nan")
    p50, p99 = merged_percentile(runs, 50), merged_percentile(runs, 99)
    least, p99_limit = TARGETS.get(kind, (0.5, None))
    met = share >= least and (p99_limit is None or p99 <= p99_limit)
    errors = sum(run[key] for run in runs for key in ("status", "timeout", "connect", "read", "write"))
    return (f"{kind:9} {rps:8.1f} {p50:9.1f} {p99:9.1f} {ceiling_rps:9.0f} {share:8.1%}   "
            f"{'met' if met else 'NOT met':8} {errors:6}")


def rate(runs: list[dict]) -> float:
    """Requests per second over several wrk runs."""
    seconds = sum(run["duration_us"] for run in runs) / 1e6
    return sum(run["requests"] for run in runs) / seconds if seconds else 0.0


# --- the machine, the data, the servers -----------------------------------------------------------

def say(text: str = "") -> None:
    print(text, flush=True)


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def ensure_wrk() -> None:
    """Install Debian's wrk when running as root; otherwise say in one line what to install."""
    if WRK.exists():
        return
    if os.geteuid() != 0:
        sys.exit("bench/web.py needs wrk: run 'sudo apt-get install wrk', then run it again.")
    say("installing wrk with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True, stdout=subprocess.DEVNULL)


def kb_env(instance: Path, **more: str) -> dict:
    """The environment the app runs in: the caller's, with the instance folder pointed at the copy."""
    env = {k: v for k, v in os.environ.items() if k not in ("KB_DATABASE_URL", "KB_INDEX_DIR", "KB_CONTENT_DIR")}
    return {**env, "KB_INSTANCE_PATH": str(instance), **more}


def flask(env: dict, *args: str) -> float:
    """Run ``flask --app kb ARGS`` as the Makefile does; return the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "kb", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - start


def prepare_instance(args: argparse.Namespace) -> Path:
    """A fresh instance folder under the work folder holding the database and index to serve."""
    instance = args.workdir / "instance"
    shutil.rmtree(instance, ignore_errors=True)
    if args.instance:
        shutil.copytree(args.instance, instance, symlinks=True)  # index/current is a link to a generation
        database = args.database or args.instance / "kb.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{database}{suffix}").exists():
                shutil.copy(f"{database}{suffix}", instance / f"kb.sqlite3{suffix}")
        env = kb_env(instance)
        say(f"copied {args.instance} and {database}; db upgrade {flask(env, 'db', 'upgrade'):.1f} s, "
            f"index check --repair {flask(env, 'kb', 'index', 'check', '--repair'):.1f} s")
        return instance
    importer = importlib.import_module("bench.import")  # "import" is a keyword: no plain import statement
    folder = args.workdir / "content"
    start = time.perf_counter()
    importer.write_files(args.entries, folder)
    shutil.copy(PROJECT_ROOT / "content" / "glossary.yml", folder / "glossary.yml")
    say(f"wrote {args.entries} entry files in {time.perf_counter() - start:.1f} s")
    instance.mkdir(parents=True)
    env = kb_env(instance, KB_CONTENT_DIR=str(folder))
    upgrade = flask(env, "db", "upgrade")
    imported = flask(env, "kb", "import", "--exit-zero")
    indexed = flask(env, "kb", "index", "check", "--repair")
    say(f"make run's steps: db upgrade {upgrade:.1f} s, kb import {imported:.1f} s "
        f"({args.entries / imported:.0f} entries/s), index check --repair {indexed:.1f} s")
    return instance


def page_paths(instance: Path, rng: random.Random) -> dict[str, list[str]]:
    """The URLs each kind of page rotates over."""
    connection = sqlite3.connect(f"file:{instance / 'kb.sqlite3'}?mode=ro", uri=True)
    sites = [row[0] for row in connection.execute("SELECT slug FROM site ORDER BY slug")]
    themes = [row[0] for row in connection.execute("SELECT slug FROM theme ORDER BY slug")]
    entries = [row[0] for row in connection.execute(
        "SELECT slug FROM entry WHERE status = 'published' AND visibility = 'public' ORDER BY id")]
    connection.close()
    for listing in (sites, themes):
        rng.shuffle(listing)
    return {"home": ["/"], "site": [f"/sites/{s}" for s in sites], "theme": [f"/themes/{t}" for t in themes],
            "entry": [f"/entries/{e}" for e in rng.sample(entries, min(1000, len(entries)))],
            "glossary": ["/glossary"], "search": search_paths(rng)}


class Figures(NamedTuple):
    """One process's resident memory (kB), open files, sockets and CPU seconds.

    Sockets are counted apart: they come and go with wrk's connections (kept alive for a few
    seconds after a run), while a leak shows as files — index segments above all.
    """

    rss_kb: int
    files: int
    sockets: int
    cpu_s: float

    def __str__(self) -> str:
        return f"{self.rss_kb / 1024:.0f} MB, {self.files} files + {self.sockets} sockets, {self.cpu_s:.1f} s CPU"


def process_figures(pid: int) -> Figures | None:
    """``/proc/PID``'s VmRSS, fd count and user + system CPU time; None if the process is gone."""
    try:
        rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])
        links = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:  # closed since the listing
                continue
        ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
    except (OSError, TypeError):
        return None
    sockets = sum(link.startswith("socket:") for link in links)
    return Figures(rss, len(links) - sockets, sockets,
                   sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK"))


CURSORS: dict[str, int] = {}  # per list of paths: where the next wrk run over it starts
def open_files_by_folder(pid: int) -> str:
    """What a process's open files are, counted by folder ("index/gen-…: 80"): a leak shows where."""
    counts: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if not link.startswith("/"):
            continue  # sockets, pipes, anonymous inodes
        folder = str(Path(link).parent)
        counts[folder] = counts.get(folder, 0) + 1
    return ", ".join(f"{folder} {n}" for folder, n in sorted(counts.items(), key=lambda item: -item[1]))


STARTED: list["Served"] = []  # every server this run started, stopped at its end whatever happens


@dataclass
class Served:
    """A gunicorn server started by :func:`start`, its log, and what was read of the log so far."""

    name: str
    base: str
    process: subprocess.Popen
    log: Path
    offset: int = 0
    requests: int = 0
    statuses: dict = field(default_factory=dict)

    def processes(self) -> dict[int, Figures]:
        """What each process of the server (the master and its workers) holds now."""
        return {pid: figures for pid in Server(self.base, self.process.pid).processes()
                if (figures := process_figures(pid)) is not None}

    def read_log(self, during: str, alarms: list[str]) -> None:
        """Count the access log's new lines by status; add alarming lines, marked ``during``, to alarms."""
        with self.log.open("rb") as file:
            file.seek(self.offset)
            text = file.read().decode("utf-8", "replace")
            self.offset = file.tell()
        others = []
        for line in text.splitlines():
            entry = access_entry(line)
            if not entry:
                others.append(line)
                continue
            self.requests += 1
            self.statuses[entry[1]] = self.statuses.get(entry[1], 0) + 1
            if entry[1] >= 500:
                alarms.append(f"{self.name}, by the end of {during}: {entry[1]} {entry[0]}")
        alarms.extend(f"{self.name}, by the end of {during}: {alarm[:400]}" for alarm in alarms_in(others))


def start(name: str, workdir: Path, instance: Path, app: str | None = None) -> Served:
    """Start gunicorn as the Makefile's ``run`` target does; return once it is ready to serve."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = kb_env(instance, PORT=str(port), KB_BASE_URL=base, PYTHONFAULTHANDLER="1")
    log = workdir / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(server_command() + ([app] if app else []), env=env, cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(name, base, process, log)
    STARTED.append(served)
    wait_until_serving(base, process, 120, lambda: log.read_text(errors="replace"))
    if app is None:  # the app's readiness check: database and index usable
        deadline = time.monotonic() + 120
        while requests.get(f"{base}/healthz/ready", timeout=30).status_code != 200:
            if time.monotonic() > deadline:
                sys.exit(f"{base}/healthz/ready never answered 200")
            time.sleep(0.2)  # polling with a deadline
        # Ready means one worker answers. Wait for every worker to have booted and warmed (each logs
        # one "search warmed"/"not warmed" line), so that wrk's connections, kept alive for a whole
        # slice, are not all taken by the first worker while the other is still starting.
        while len(re.findall(r"search (?:not )?warmed", log.read_text(errors="replace"))) < WORKERS:
            if time.monotonic() > deadline:
                sys.exit(f"the workers of {base} did not all finish starting: see {log}")
            time.sleep(0.2)  # polling with a deadline
    return served


def wrk(served: Served, paths: list[str], seconds: int, args: argparse.Namespace, tag: str) -> dict:
    """One wrk run of ``seconds`` (whole seconds, as wrk takes) over ``paths`` (a file for rotate.lua)."""
    listing = args.workdir / f"paths-{tag}.txt"
    if not listing.exists():
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    start_at = CURSORS.get(tag, 0)
    # --timeout 30s: wrk's default of 2 s would leave the slowest pages out of the latencies.
    done = subprocess.run([str(WRK), f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, int(seconds))}s",
                           "--latency", "--timeout", "30s", "-s", str(LUA), served.base, "--", str(listing),
                           str(args.threads), str(start_at)], capture_output=True, text=True)
    run = parse_wrk(done.stdout + done.stderr)
    CURSORS[tag] = (start_at + run["requests"]) % len(paths)  # the next run asks paths not asked yet
    return run


def show_processes(label: str, served: Served, compact: bool = False) -> None:
    """Print each of the server's processes' figures: one line each, or all on one line."""
    figures = sorted(served.processes().items())
    if compact:
        say(f"  {label}: " + "; ".join(f"{pid} {f.rss_kb / 1024:.0f} MB {f.files} files + {f.sockets} sockets"
                                       for pid, f in figures))
        return
    say(f"  {label}:")
    for pid, figure in figures:
        say(f"    pid {pid}{' (master)' if pid == served.process.pid else ''}: {figure}")


def table(title: str, results: dict[str, list[dict]], ceilings: dict[str, list[dict]]) -> None:
    say(f"\n{title}")
    say(f"{'page':9} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'ceiling':>9} {'of ceil':>8}   "
        f"{'target':8} {'errors':>6}")
    for kind in results:
        say(fraction_line(kind, results[kind], ceilings[kind]))
    everything = [run for runs in ceilings.values() for run in runs]
    say(f"{'ceiling':9} {rate(everything):8.1f} {merged_percentile(everything, 50):9.1f} "
        f"{merged_percentile(everything, 99):9.1f}")


# --- the run -----------------------------------------------------------------------------------------

def cold_phase(args: argparse.Namespace, instance: Path, paths: dict, ceiling: Served, alarms: list) -> None:
    """A fresh server per kind, measured from the moment it is ready; a ceiling slice after each."""
    say(f"\ncold: a fresh server for each kind, its first {args.cold_seconds} s from the moment /healthz/ready "
        "answers")
    cold, cold_ceiling = {}, {}
    for kind in args.kinds:
        server = start(f"cold-{kind}", args.workdir, instance)
        show_processes(f"{kind} server at start", server)
        cold[kind] = [wrk(server, paths[kind], args.cold_seconds, args, kind)]
        cold_ceiling[kind] = [wrk(ceiling, ["/"], args.cold_seconds, args, "ceiling")]
        show_processes(f"{kind} server after its slice", server)
        stop_group(server.process)
        server.read_log(f"cold {kind}", alarms)
        say(f"  {kind}: statuses {dict(sorted(server.statuses.items()))}")
    table(f"cold figures (the first {args.cold_seconds} s of a fresh server)", cold, cold_ceiling)


def visit_once(server: Served, paths: list[str], threads: int) -> dict[int, int]:
    """Ask for every path once, from ``threads`` threads; return the count of each status."""
    def get(path: str) -> int:
        return requests.get(server.base + path, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(Counter(pool.map(get, paths)))


def note_lopsided(slice_name: str, server: Served, before: dict[int, Figures]) -> None:
    """Say so when one worker did (nearly) all of a slice's work.

    wrk opens its 16 connections at once and keeps them for the whole slice; on 2 cores shared
    with wrk, one worker sometimes accepts all of them before the other is scheduled, and the
    slice then runs on one core. Such slices are counted in the figures like any other.
    """
    after = server.processes()
    used = [after[pid].cpu_s - figures.cpu_s for pid, figures in before.items()
            if pid in after and pid != server.process.pid]
    if len(used) >= 2 and max(used) > 0.5 and min(used) < 0.2 * max(used):
        say(f"  {slice_name}: one worker took every connection (worker CPU {', '.join(f'{u:.1f} s' for u in used)})")


def warm_phase(args: argparse.Namespace, server: Served, paths: dict, ceiling: Served, alarms: list) -> None:
    """Unmeasured warm-up, then rounds of ceiling, kind, ceiling, kind ...

    Warm means every page of a kind's list has been served once since the server started, so
    that the kinds readers are served stored pages of (all but search) are measured as a server
    that has been running a while serves them; what a first view costs is the cold figures'
    part. Search is never stored: its warm-up is a slice of other queries, as before.
    """
    stored_kinds = [kind for kind in args.kinds if kind != "search"]
    say(f"\nwarm: one server; every URL of {', '.join(stored_kinds)} asked once "
        f"({args.connections} at a time), {max(1, args.seconds // 2)} s of each kind unmeasured, "
        f"then {args.rounds} round(s) of ceiling/kind slices")
    show_processes("at start", server)
    for kind in stored_kinds:
        began = time.monotonic()
        statuses = visit_once(server, paths[kind], args.connections)
        say(f"  every {kind} URL once: {len(paths[kind])} in {time.monotonic() - began:.1f} s, statuses {statuses}")
    for kind in args.kinds:
        wrk(server, paths[kind], args.seconds // 2, args, kind)
    server.read_log("warm-up", alarms)
    show_processes(f"after warm-up ({server.requests} requests)", server)
    warm = {kind: [] for kind in args.kinds}
    warm_ceiling = {kind: [] for kind in args.kinds}
    for round_ in range(1, args.rounds + 1):
        for kind in args.kinds:
            warm_ceiling[kind].append(wrk(ceiling, ["/"], args.seconds, args, "ceiling"))
            before = server.processes()
            warm[kind].append(wrk(server, paths[kind], args.seconds, args, kind))
            note_lopsided(f"warm round {round_} {kind}", server, before)
            server.read_log(f"warm round {round_} {kind}", alarms)
        say(f"  round {round_} done, load average {load_average()}")
    table(f"warm figures ({args.rounds} x {args.seconds} s per kind; p50/p99 over all its requests)",
          warm, warm_ceiling)
    show_processes(f"after the warm rounds ({server.requests} requests)", server)


def soak_phase(args: argparse.Namespace, server: Served, paths: dict, alarms: list) -> None:
    """Every kind mixed for --soak-requests more requests (counted from the soak's start, not the
    server's); memory and open files sampled after every slice and compared with the start."""
    say(f"\nsoak: every kind mixed, for {args.soak_requests} requests after the "
        f"{server.requests} already answered (at most {args.soak_seconds} s)")
    longest = max(len(paths[kind]) for kind in args.kinds)
    mixed = [paths[kind][i % len(paths[kind])] for i in range(longest) for kind in args.kinds]  # 1/6 each
    began, first, start_count = time.monotonic(), server.processes(), server.requests
    samples = [(server.requests, first)]
    while (server.requests - start_count < args.soak_requests
           and time.monotonic() - began < args.soak_seconds):
        run = wrk(server, mixed, min(args.seconds * 2, args.soak_seconds), args, "mixed")
        server.read_log("soak", alarms)
        samples.append((server.requests, server.processes()))
        show_processes(f"{server.requests:6} requests, {rate([run]):6.1f} req/s", server, compact=True)
    last = server.processes()
    if server.requests - start_count > 20_000:  # also the last 20,000, once the caches have filled
        count, figures = next((n, f) for n, f in reversed(samples) if server.requests - n >= 20_000)
        say(f"  change over the last {server.requests - count} requests: " + "; ".join(
            f"pid {pid} {(last[pid].rss_kb - figures[pid].rss_kb) / 1024:+.0f} MB, "
            f"{last[pid].files - figures[pid].files:+d} files" for pid in sorted(figures) if pid in last))
    say("  change over the soak: " + "; ".join(
        f"pid {pid} {(last[pid].rss_kb - first[pid].rss_kb) / 1024:+.0f} MB, "
        f"{last[pid].files - first[pid].files:+d} files"
        for pid in sorted(first) if pid in last)
        + ("" if set(first) == set(last) else f" (processes changed: {sorted(first)} -> {sorted(last)})"))
    for pid in sorted(last):
        say(f"  files {pid} holds: {open_files_by_folder(pid)}")
    say(f"  the soak's own requests: {server.requests - start_count}")
    if server.requests - start_count < args.soak_requests:
        say(f"  only {server.requests - start_count} requests in the time allowed: raise --soak-seconds "
            f"to reach {args.soak_requests}")
    say(f"  statuses over the server's life: {dict(sorted(server.statuses.items()))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="entries to generate and import")
    parser.add_argument("--instance", type=Path, help="copy this instance folder instead of importing")
    parser.add_argument("--database", type=Path, help="its SQLite file, if not DIR/kb.sqlite3")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-web"))
    parser.add_argument("--seconds", type=int, default=4, help="length of each measured slice")
    parser.add_argument("--cold-seconds", type=int, default=8, help="length of each cold slice")
    parser.add_argument("--rounds", type=int, default=2, help="warm rounds over every kind")
    parser.add_argument("--soak-requests", type=int, default=20_000)
    parser.add_argument("--soak-seconds", type=int, default=90, help="the soak stops after this at most")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args(argv)
    ensure_wrk()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for old in itertools.chain(args.workdir.glob("paths-*.txt"), args.workdir.glob("*.log")):
        old.unlink()
    version = subprocess.run([str(WRK), "-v"], capture_output=True, text=True)
    say(f"bench/web.py {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, {(version.stdout + version.stderr).split(' Copyright')[0].strip()}")
    say(f"load average at the start: {load_average()}")
    instance = prepare_instance(args)
    paths = page_paths(instance, random.Random(2013))
    say("URLs: " + ", ".join(f"{kind} {len(paths[kind])}" for kind in args.kinds)
        + f"; {args.connections} connections, {args.threads} wrk threads, slices of {args.seconds} s")
    alarms: list[str] = []
    try:
        ceiling = start("ceiling", args.workdir, instance, app="bench.ceiling_app:app")
        wrk(ceiling, ["/"], 1, args, "ceiling")  # its workers' first requests, not measured
        cold_phase(args, instance, paths, ceiling, alarms)
        server = start("warm", args.workdir, instance)
        warm_phase(args, server, paths, ceiling, alarms)
        soak_phase(args, server, paths, alarms)
    finally:
        for served in STARTED:
            stop_group(served.process)
            served.read_log("at the end", alarms)
    say(f"\nalarming lines in gunicorn's logs (5xx, errors, tracebacks, worker crashes): {len(alarms)}"
        + (" (the first 40)" if len(alarms) > 40 else ""))
    for line in alarms[:40]:
        say(f"  {line}")
    say(f"logs kept in {args.workdir}")
    say(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
