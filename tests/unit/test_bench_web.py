"""bench/web.py's own pure parts: reading wrk's and gunicorn's output, merging latencies, the search URLs.

No server and no timing: the benchmark measures, these only check that it reads what it measures right.
"""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.web import access_entry, alarms_in, fraction_line, merged_percentile, parse_wrk, rate, search_paths
from kb.services.filters import Filters


def wrk_run(requests: int, duration_us: int, latencies_ms: list[float]) -> dict:
    """A run as rotate.lua reports it: 1,000 quantiles, here spread evenly over ``latencies_ms``."""
    quantiles = [latencies_ms[i * len(latencies_ms) // 1000] * 1000 for i in range(1000)]
    return {"requests": requests, "duration_us": duration_us, "latency_us": quantiles,
            "status": 0, "timeout": 0, "connect": 0, "read": 0, "write": 0}


def test_parse_wrk_finds_the_line_rotate_lua_prints_among_wrks_own_output():
    output = ("Running 4s test @ http://127.0.0.1:5000\n  2 threads and 16 connections\n"
              "Requests/sec:    856.47\n"
              'WRK-JSON {"requests": 936, "duration_us": 1092864, "bytes": 486720, "connect": 0, "read": 2, '
              '"write": 0, "status": 5, "timeout": 1, "latency_us": [364, 383]}\n')
    run = parse_wrk(output)
    assert run["requests"] == 936 and run["read"] == 2 and run["status"] == 5
    assert run["latency_us"] == [364, 383]


def test_parse_wrk_without_the_line_says_what_wrk_printed():
    with pytest.raises(ValueError, match="unable to connect"):
        parse_wrk("unable to connect to 127.0.0.1:5000 Connection refused\n")


def test_merged_percentile_weights_each_run_by_its_requests():
    fast = wrk_run(900, 1_000_000, [10.0])   # 900 requests, all 10 ms
    slow = wrk_run(100, 1_000_000, [500.0])  # 100 requests, all 500 ms
    assert merged_percentile([fast, slow], 50) == pytest.approx(10.0)
    assert merged_percentile([fast, slow], 89) == pytest.approx(10.0)
    assert merged_percentile([fast, slow], 91) == pytest.approx(500.0)
    assert merged_percentile([fast, slow], 99) == pytest.approx(500.0)


def test_merged_percentile_of_one_run_is_that_runs_percentile():
    run = wrk_run(1000, 1_000_000, [float(ms) for ms in range(1, 101)])  # 1..100 ms evenly
    assert merged_percentile([run], 50) == pytest.approx(50.0, abs=1)
    assert merged_percentile([run], 99) == pytest.approx(99.0, abs=1)


def test_rate_is_all_requests_over_all_seconds():
    assert rate([wrk_run(300, 2_000_000, [1.0]), wrk_run(100, 2_000_000, [1.0])]) == pytest.approx(100.0)
    assert rate([]) == 0.0


def test_fraction_line_judges_each_kind_by_issue_11s_target():
    ceiling = [wrk_run(1000, 1_000_000, [5.0])]  # 1,000 requests/s
    assert fraction_line("home", [wrk_run(600, 1_000_000, [20.0])], ceiling).split()[-2:] == ["met", "0"]
    assert "NOT met" in fraction_line("home", [wrk_run(400, 1_000_000, [20.0])], ceiling)
    # search: at least 8% of the ceiling and p99 at most 300 ms
    assert "NOT met" not in fraction_line("search", [wrk_run(100, 1_000_000, [250.0])], ceiling)
    assert "NOT met" in fraction_line("search", [wrk_run(100, 1_000_000, [350.0])], ceiling)
    assert "NOT met" in fraction_line("search", [wrk_run(70, 1_000_000, [50.0])], ceiling)


def test_fraction_line_says_so_when_no_request_finished():
    row = fraction_line("entry", [wrk_run(0, 8_000_000, [0.0])], [wrk_run(1000, 1_000_000, [5.0])])
    assert row.startswith("entry") and "no request finished" in row


def test_access_entry_reads_gunicorn_conf_format():
    line = '127.0.0.1 "GET /search?q=falls+OR+frailty&type=evidence HTTP/1.1" 502 1234 87ms rid=9f2c'
    assert access_entry(line) == ("/search?q=falls+OR+frailty&type=evidence", 502)
    assert access_entry("[2026-12-05 11:33:01 +0000] [123] [INFO] Booting worker with pid: 123") is None


def test_alarms_in_keeps_errors_and_turns_a_segfault_dump_into_one_line_naming_the_view():
    log = [
        "[2026-12-05 11:33:01 +0000] [123] [INFO] Booting worker with pid: 124",
        "Fatal Python error: Segmentation fault",
        "",
        "Current thread 0x00007f3a (most recent call first):",
        '  File "/work/main/.venv/lib/python3.11/site-packages/sqlalchemy/orm/loading.py", line 80 in instances',
        '  File "/work/main/kb/services/themes.py", line 51 in theme_sides',
        '  File "/work/main/kb/views/themes.py", line 23 in show',
        '  File "/work/main/.venv/lib/python3.11/site-packages/flask/app.py", line 902 in dispatch_request',
        "",
        "Thread 0x00007f3b (most recent call first):",
        '  File "/work/main/kb/views/search.py", line 25 in index',
        "",
        "Extension modules: sqlalchemy.cyextension.collections (total: 3)",
        "[2026-12-05 11:33:02 +0000] [123] [ERROR] Worker (pid:124) was sent SIGSEGV!",
        "[2026-12-05 11:33:02 +0000] [123] [INFO] Booting worker with pid: 130",
    ]
    alarms = alarms_in(log)
    assert alarms == [
        "Fatal Python error: Segmentation fault | kb/views/themes:23 show > kb/services/themes:51 theme_sides",
        "[2026-12-05 11:33:02 +0000] [123] [ERROR] Worker (pid:124) was sent SIGSEGV!",
    ]


def test_alarms_in_ends_a_traceback_with_its_exception():
    log = [
        "[2026-12-05 11:33:01 +0000] [124] [ERROR] Error handling request /entries/x",
        "Traceback (most recent call last):",
        '  File "/work/main/kb/views/entries.py", line 40, in show',
        "    return render_template(...)",
        "sqlalchemy.exc.OperationalError: database is locked",
        '127.0.0.1 "GET / HTTP/1.1" 200 1 1ms rid=a',
    ]
    assert alarms_in(log) == [
        "[2026-12-05 11:33:01 +0000] [124] [ERROR] Error handling request /entries/x",
        "Traceback (most recent call last): | kb/views/entries:40 show"
        " | sqlalchemy.exc.OperationalError: database is locked",
    ]


def test_search_paths_are_a_thousand_distinct_searches_that_need_no_redirect():
    paths = search_paths(random.Random(7))
    assert len(paths) >= 1000
    assert len(set(paths)) == len(paths)
    for path in paths:
        parts = urlsplit(path)
        assert parts.path == "/search"
        args = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        filters = Filters.from_args(args)
        assert filters.typed == ()  # typed filters already moved into parameters: no redirect
        assert filters.to_args() == args
    assert any("site=" in path for path in paths) and any("%22" in path for path in paths)


def test_search_paths_order_depends_on_the_random_generator_only():
    assert search_paths(random.Random(1)) == search_paths(random.Random(1))
    assert search_paths(random.Random(1)) != search_paths(random.Random(2))
