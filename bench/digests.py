"""Digest benchmark: ``flask kb send-digests`` for many members, and the feeds' throughput.

1. Writes N synthetic entries (:mod:`bench.corpus`, as ``bench/import.py`` does) and imports them
   into a fresh SQLite database with its search index; every entry is in the digest period
   (subscriptions are made before the oldest and the run is after the newest).
2. Makes M members with three subscriptions each, a mix of the three kinds: a followed site (one
   of the 25 pioneers), a followed theme (one of 31, either side or one of them) and a saved
   search (one of :data:`SEARCHES`), all weekly.
3. Runs the digests in a fresh process, as ``flask kb send-digests`` does
   (:func:`kb.services.digests.send_digests`), sending through SMTP to a local aiosmtpd sink
   that counts what it is given; prints members/s, the whole run's time, the CPU of the run's
   process, of its sending processes and of the sink, and peak memory. Target on 2 cores
   (issue 12): the whole run under 2 minutes.
4. Measures ``/feeds/search.atom?…`` for the same mixed searches beside ``/search?…`` (the
   search page), rounds interleaved, in one client: first over HTTP through a fresh gunicorn
   server started as ``make run`` serves (its first round cold, the rest warm), then through the
   app in this process; stored public pages and feeds on, as in production.

The machine may be shared: the load average is printed before and after.

Run: ``.venv/bin/python -m bench.digests --members 10000 --entries 1000 --workdir /tmp/kb-digests``
(``KB_DIGEST_WORKERS=1`` in front: every digest sent by the run's own process).
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode, urlsplit

from aiosmtpd.controller import Controller

from kb.config import PROJECT_ROOT
from tests.live_server import running_server

SUBSCRIBED = datetime(1990, 1, 1, tzinfo=timezone.utc)
NOW = "2099-01-01T07:00:00+00:00"
SEARCHES = [
    {"q": "frailty"}, {"q": "discharge"}, {"q": "pooled budget"}, {"q": "care home"}, {"q": "integrated team"},
    {"q": "falls"}, {"q": "reablement"}, {"q": "shared record"}, {"q": "dementia"}, {"q": "social prescribing"},
    {"q": "", "type": "evidence"}, {"q": "", "type": "case_study"}, {"q": "admissions", "type": "evidence"},
    {"q": "workforce", "polarity": "barrier"}, {"q": "leadership", "polarity": "enabler"},
    {"q": "", "type": "intervention", "year": "2016"}, {"q": "evaluation", "strength": "3"},
    {"q": "information governance"}, {"q": "voluntary sector"}, {"q": "primary care"},
]

SEND_SCRIPT = """
import json, resource, sys, time
from datetime import datetime
from kb import create_app
from kb.mail import current_sender
from kb.services.digests import send_digests

if __name__ == "__main__":  # a large run spawns sending processes, which import this file again
    app = create_app()
    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        report = send_digests(datetime.fromisoformat(sys.argv[1]), current_sender())
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                          "workers_cpu": children.ru_utime + children.ru_stime,
                          "workers": app.config["KB_DIGEST_WORKERS"],
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "workers_rss_mb": children.ru_maxrss / 1024,
                          "sent": report.sent, "skipped": report.skipped, "failed": report.failed}))
"""


class Sink:
    """An aiosmtpd handler that counts messages and bytes and keeps nothing."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's names
        self.messages += 1
        self.bytes += len(envelope.content)
        return "250 OK"


def build(workdir: Path, members: int, entries: int, env: dict[str, str]) -> dict:
    """Entries imported and indexed, members and their subscriptions made; returns counts."""
    from flask_migrate import upgrade

    from kb import create_app
    from kb.extensions import db
    from kb.models import Frequency, Site, Subscription, SubscriptionKind, Theme, User
    from kb.search import backend
    from kb.services import subscriptions
    from kb.services.content_io import import_content
    from kb.services.filters import Filters

    folder = workdir / "content"
    importlib.import_module("bench.import").write_files(entries, folder)
    app = create_app({"KB_INSTANCE_PATH": env["KB_INSTANCE_PATH"], "SQLALCHEMY_DATABASE_URI": env["KB_DATABASE_URL"],
                      "SECRET_KEY": env["KB_SECRET_KEY"]})
    with app.app_context():
        upgrade(directory=str(PROJECT_ROOT / "migrations"))
        backend().store.create_if_missing()
        report = import_content(folder, now=datetime.now(timezone.utc))
        sites = list(db.session.scalars(db.select(Site)))
        themes = list(db.session.scalars(db.select(Theme)))
        rng = random.Random(2016)
        people = [User(email=f"member{n}@bench.example.org", name=f"Member {n}") for n in range(members)]
        db.session.add_all(people)
        db.session.flush()
        rows = []
        for person in people:
            site, theme = rng.choice(sites), rng.choice(themes)
            polarity = rng.choice([None, "enabler", "barrier"])
            search = Filters.from_args(rng.choice(SEARCHES))
            for kind, filters, site_row, theme_row in (
                    (SubscriptionKind.SITE, Filters(site=site.slug), site, None),
                    (SubscriptionKind.THEME, Filters(theme=theme.slug, polarity=polarity), None, theme),
                    (SubscriptionKind.SEARCH, search, None, None)):
                rows.append(Subscription(
                    user_id=person.id, kind=kind, name=subscriptions.describe(filters, site_row, theme_row)[:120],
                    frequency=Frequency.WEEKLY, q=filters.q, type=filters.type, site=site_row, theme=theme_row,
                    polarity=filters.polarity, year=filters.year, strength=filters.strength,
                    # the service's own key, so that these rows are what subscribe() would make
                    filters_key=subscriptions._key(filters, site_row, theme_row), created_at=SUBSCRIBED))
        db.session.add_all(rows)
        db.session.commit()
        distinct = len({r.filters_key + str(r.polarity) for r in rows})
        db.session.remove()
        db.engine.dispose()
        backend().close()
    return {"import": report.summary(), "subscriptions": len(rows), "distinct": distinct}


def feed_throughput(get: Callable[[str], int], rounds: int) -> dict[str, tuple[float, float]]:
    """Requests per second of /feeds/search.atom and /search over SEARCHES through ``get`` (which
    returns the status), rounds interleaved: ``{name: (first round, the other rounds)}``."""
    spent = {name: [0.0] * rounds for name in ("feed", "search")}
    for round_ in range(rounds):
        for search in SEARCHES:
            query = urlencode({k: v for k, v in search.items() if v})
            for name, url in (("feed", f"/feeds/search.atom?{query}"), ("search", f"/search?{query}")):
                start = time.perf_counter()
                status = get(url)
                spent[name][round_] += time.perf_counter() - start
                assert status == 200, (url, status)
    per_round = len(SEARCHES)
    return {name: (per_round / times[0], per_round * (rounds - 1) / sum(times[1:]) if rounds > 1 else 0.0)
            for name, times in spent.items()}


def in_process_getter(env: dict[str, str]) -> Callable[[str], int]:
    """GET through the app in this process (Flask's test client), configured as served."""
    from kb import create_app

    app = create_app({"KB_INSTANCE_PATH": env["KB_INSTANCE_PATH"], "SQLALCHEMY_DATABASE_URI": env["KB_DATABASE_URL"],
                      "SECRET_KEY": env["KB_SECRET_KEY"], "KB_BASE_URL": env["KB_BASE_URL"]})
    client = app.test_client()
    return lambda url: client.get(url).status_code


def http_getter(base: str) -> Callable[[str], int]:
    """GET over HTTP from ``base`` on one kept-alive connection (opened again if the server closes it)."""
    parts = urlsplit(base)
    connection = [http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)]

    def get(url: str) -> int:
        for attempt in (1, 2):
            try:
                connection[0].request("GET", url)
                response = connection[0].getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, ConnectionError):
                connection[0].close()
                connection[0] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return get


def print_rates(where: str, rates: dict[str, tuple[float, float]], rounds: int) -> None:
    cold, warm = ({name: rate[i] for name, rate in rates.items()} for i in (0, 1))
    print(f"feeds vs search page, {where}, {len(SEARCHES)} mixed searches x {rounds} rounds, one client: "
          f"first round /feeds/search.atom {cold['feed']:.0f} req/s, /search {cold['search']:.0f} req/s; "
          f"then /feeds/search.atom {warm['feed']:.0f} req/s, /search {warm['search']:.0f} req/s; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the feed/search comparison")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-digests"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    instance = args.workdir / "instance"
    instance.mkdir(parents=True)
    sink = Sink()
    with socket.socket() as probe:  # a free port for the sink
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance), "KB_DATABASE_URL": f"sqlite:///{instance}/kb.sqlite3",
           "KB_SECRET_KEY": "bench", "KB_BASE_URL": "http://kb.bench",
           "KB_MAIL_URL": f"smtp://127.0.0.1:{controller.port}", "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        print(f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
        start = time.perf_counter()
        made = build(args.workdir, args.members, args.entries, env)
        print(f"built in {time.perf_counter() - start:.0f} s: {made}", flush=True)
        load = os.getloadavg()[0]
        script = args.workdir / "send_run.py"
        script.write_text(SEND_SCRIPT, encoding="utf-8")
        sink_cpu = time.process_time()  # this process does nothing else meanwhile: it is the sink's
        out = subprocess.run([sys.executable, str(script), NOW], env=env, cwd=PROJECT_ROOT, capture_output=True,
                             text=True, check=True)
        sink_cpu = time.process_time() - sink_cpu
        run = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"send-digests: {args.members} members, {made['subscriptions']} subscriptions "
              f"({made['distinct']} distinct), {args.entries} entries in the period", flush=True)
        print(f"  whole run {run['seconds']:.1f} s (target < 120 s), {args.members / run['seconds']:.0f} members/s, "
              f"{run['seconds'] / made['subscriptions'] * 1000:.2f} ms per subscription", flush=True)
        shared = (f" and {run['workers_cpu']:.1f} s in its {run['workers']} sending processes" if run["workers_cpu"]
                  else ", which sent every digest itself")
        print(f"  CPU {run['cpu']:.1f} s in the run's own process{shared}; peak memory {run['rss_mb']:.0f} MB"
              + (f" and {run['workers_rss_mb']:.0f} MB (the largest sending process)" if run["workers_cpu"] else "")
              + f"; the SMTP sink's CPU {sink_cpu:.1f} s", flush=True)
        print(f"  sent {run['sent']}, skipped {run['skipped']}, failed {run['failed']}; the sink got "
              f"{sink.messages} messages, {sink.bytes / sink.messages / 1024:.0f} KB each on average"
              if sink.messages else f"  sent {run['sent']}; the sink got nothing", flush=True)
        print(f"  load average {load:.1f} before the run, {os.getloadavg()[0]:.1f} after", flush=True)
        # Over HTTP through the server `make run` starts (gunicorn, fresh: its first round is cold),
        # then in this process through the app itself.
        with running_server(instance, env["KB_DATABASE_URL"], KB_SECRET_KEY=env["KB_SECRET_KEY"]) as base:
            print_rates(f"over HTTP ({base}, gunicorn as `make run` serves)",
                        feed_throughput(http_getter(base), args.rounds), args.rounds)
        print_rates("in this process (the app's test client)", feed_throughput(in_process_getter(env), args.rounds),
                    args.rounds)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
