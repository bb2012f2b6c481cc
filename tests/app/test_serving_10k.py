"""Every page type served at 10,000 entries, from many threads at once, without a worker dying.

The data is loaded the way ``make run`` loads it — content files through ``flask kb import``,
then ``flask kb index check --repair`` — from the benchmark's generated corpus (bench/import.py),
and the server is the one ``make run`` starts. On CPython 3.11 this crashed workers with SIGSEGV
within seconds (docs/python-versions.md); the test is the standing check that it does not.
"""

from __future__ import annotations

import html
import importlib
import os
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from bench.queries import PHRASES, PLAIN
from kb.config import PROJECT_ROOT
from tests.live_server import server_output, serving

ENTRIES = 10_000
THREADS = 16
ROUNDS = 3  # each thread walks its share of the page list this many times


@pytest.fixture(scope="module")
def ten_thousand(tmp_path_factory) -> tuple[Path, str, Path]:
    """An instance folder and database holding 10,000 imported entries and their index."""
    work = tmp_path_factory.mktemp("ten-thousand")
    folder, instance = work / "content", work / "instance"
    instance.mkdir()
    importlib.import_module("bench.import").write_files(ENTRIES, folder)
    database_url = f"sqlite:///{work / 'kb.sqlite3'}"
    env = {**os.environ, "KB_DATABASE_URL": database_url, "KB_INSTANCE_PATH": str(instance),
           "KB_CONTENT_DIR": str(folder), "KB_SECRET_KEY": "ten-thousand"}
    # As after `make run` on an empty site: the import finds an index and writes its 10,000 updates
    # into it at the end, as new segments from forked writing processes (segment_writer.py).
    for command in (["db", "upgrade"], ["kb", "index", "check", "--repair"], ["kb", "import"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "kb", *command], env=env, cwd=PROJECT_ROOT,
                       check=True, capture_output=True, text=True)
    checked = subprocess.run([sys.executable, "-m", "flask", "--app", "kb", "kb", "index", "check"], env=env,
                             cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert "agrees with the database" in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    return instance, database_url, folder


def _pages(folder: Path) -> list[tuple[str, str]]:
    """(path, text the page must contain) for every page type, in a fixed random order."""
    rng = random.Random(10_000)
    themes = yaml.safe_load((PROJECT_ROOT / "content" / "themes.yml").read_text(encoding="utf-8"))
    sites = sorted((PROJECT_ROOT / "content" / "sites").glob("*.md"))
    readable = [path for path in sorted(folder.glob("entries/*.md"))
                if (_front_matter(path)["status"], _front_matter(path)["visibility"]) == ("published", "public")]
    entries = rng.sample(readable, 120)
    pages = [("/", "Pioneer"), ("/sites/", "Pioneer"), ("/themes/", themes[0]["name"]), ("/glossary", "Glossary")]
    pages += [(f"/themes/{theme['slug']}", theme["name"]) for theme in themes]
    pages += [(f"/sites/{path.stem}", _front_matter(path)["name"]) for path in sites]
    pages += [(f"/entries/{path.stem}", _front_matter(path)["title"]) for path in entries]
    pages += [(f"/search?q={query}", "result") for query in rng.sample(PLAIN + PHRASES, 60)]
    rng.shuffle(pages)
    return pages


def _front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def test_every_page_type_at_ten_thousand_entries_is_served_from_many_threads_without_a_crash(ten_thousand):
    instance, database_url, folder = ten_thousand
    pages = _pages(folder)
    failures: list[str] = []
    lock = threading.Lock()

    def walk(k: int) -> int:
        served = 0
        with requests.Session() as session:
            for _ in range(ROUNDS):
                for path, expected in pages[k::THREADS]:
                    answer = session.get(f"{server.base}{path}", timeout=120)
                    served += 1
                    if answer.status_code != 200 or expected.lower() not in html.unescape(answer.text).lower():
                        with lock:
                            failures.append(f"{path}: {answer.status_code}, {expected!r} not in page"
                                            if answer.status_code == 200 else f"{path}: {answer.status_code}")
        return served

    with serving(instance, database_url) as server:
        workers_before = server.processes()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            served = sum(pool.map(walk, range(THREADS)))
        workers_after = server.processes()
        log = server_output(instance, int(server.base.rsplit(":", 1)[1]))

    assert served == ROUNDS * len(pages)
    assert not failures, failures[:10]
    assert "SIGSEGV" not in log and "code 139" not in log and "Fatal Python error" not in log, log[-3000:]
    assert workers_after == workers_before, "a worker was replaced: it died while serving\n" + log[-3000:]
