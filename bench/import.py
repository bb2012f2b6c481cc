"""Import benchmark: ``flask kb import`` of N new content files into a fresh database.

1. Writes N synthetic entries (:mod:`bench.corpus`: ~1,000-word Markdown bodies, the 25 pioneer
   sites, the real 31 themes, some links between entries) as content files, in the format
   ``flask kb export`` writes (:func:`kb.services.content_io.exporter.markdown_file`), beside a
   copy of ``content/sites`` and ``content/themes.yml``.
2. Creates a fresh database with the migrations (``flask kb db upgrade``, as ``make run`` does).
3. In a fresh process (cold: nothing cached, nothing imported yet), imports the folder with
   :func:`kb.services.content_io.import_content` — the function ``flask kb import`` calls —
   and then writes the search index updates it queued, as ``flask kb import`` does at its end
   (:func:`kb.search.indexing.drain`) — or, since a fresh database has no index yet, builds the
   index as ``make run``'s ``flask kb index check --repair`` does (:func:`kb.search.consistency.rebuild`)
   — timing each; prints entries/s for both and in all.
4. Imports the same folder again (nothing changes: every file is found equal to its row), so the
   queued updates are written by drain, as any later import's are.

With ``--pg URL`` (a PostgreSQL server URL whose database may be dropped and re-made: every table
is dropped first) the same runs against PostgreSQL.

Run: ``.venv/bin/python -m bench.import --entries 10000`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kb.config import PROJECT_ROOT
from kb.services.content_io.exporter import markdown_file

from bench import corpus

DESIGNS = ["rct", "quasi_experimental", "controlled_before_after", "before_after", "time_series",
           "qualitative", "economic", "descriptive"]
PROVENANCES = ["self_reported", "local_evaluation", "independent_evaluation", "peer_reviewed"]
DIRECTIONS = ["increase", "decrease", "no_change", "mixed"]


def record_for(entry: dict, earlier: list[str], rng: random.Random) -> dict:
    """The content-file record of one synthetic entry; some link to entries written before it."""
    record = {
        "title": entry["title"], "type": entry["type"], "site": entry["site"],
        "other_sites": sorted(slug for slug, _ in entry["other_sites"]),
        "status": entry["status"], "visibility": entry["visibility"],
        "published": entry["published"].isoformat(), "summary": entry["summary"],
        "themes": [{"theme": t["slug"], "polarity": t["polarity"], "note": t["note"]} for t in entry["themes"]],
        "sources": [{"title": f"{entry['site_name']} annual report", "url": f"https://example.org/{entry['slug']}",
                     "date": str(entry["published"].year)}],
    }
    if not record["other_sites"]:
        del record["other_sites"]
    if earlier and rng.random() < 0.3:
        targets = rng.sample(earlier[-500:], min(len(earlier[-500:]), rng.randint(1, 3)))
        record["links"] = [{"rel": rng.choice(("evaluates", "describes", "adapted_from")), "entry": t}
                           for t in targets]
    if entry["type"] == "evidence":
        measures = entry["outcomes"] or ["Length of stay"]
        record["evidence"] = {
            "design": rng.choice(DESIGNS), "strength": entry["strength"], "provenance": rng.choice(PROVENANCES),
            "outcomes": [{"measure": m, "direction": rng.choice(DIRECTIONS), "value": f"{rng.randint(1, 30)}%"}
                         for m in measures],
        }
    record["body"] = entry["body"]
    return record


def write_files(n: int, folder: Path) -> None:
    """``folder/{themes.yml, sites/, entries/}`` with N new entry files."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "entries").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "content" / "themes.yml", folder / "themes.yml")
    shutil.copytree(PROJECT_ROOT / "content" / "sites", folder / "sites")
    rng, slugs = random.Random(2015), []
    for entry in corpus.generate(n):
        text = markdown_file(record_for(entry, slugs, rng))
        (folder / "entries" / f"{entry['slug']}.md").write_text(text, encoding="utf-8", newline="\n")
        slugs.append(entry["slug"])


# Runs in a fresh process, so that the figures are cold (nothing imported or cached yet).
IMPORT_SCRIPT = """
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
from kb import create_app
from kb.search import backend
from kb.search.consistency import rebuild
from kb.search.indexing import drain, queued
from kb.services.content_io import import_content

app = create_app()
with app.app_context():
    start, cpu = time.perf_counter(), time.process_time()
    report = import_content(Path(sys.argv[1]), now=datetime.now(timezone.utc), write_index=False)
    imported, imported_cpu = time.perf_counter(), time.process_time()
    waiting = queued()
    how = "drain"
    if not drain(backend(), wait=True):  # no index yet: built from the database, as make run does
        how = "rebuild"
        rebuild(backend())
    indexed, indexed_cpu = time.perf_counter(), time.process_time()
    print(json.dumps({"import": imported - start, "index": indexed - imported,
                      "import_cpu": imported_cpu - cpu, "index_cpu": indexed_cpu - imported_cpu,
                      "queued": waiting, "how": how,
                      "left": queued(), "summary": report.summary(), "errors": report.errors[:5],
                      "conflicts": len(report.conflicts)}))
"""


def run_import(env: dict, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT, str(folder)], env=env, cwd=PROJECT_ROOT,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def flask(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "kb", *args], env=env, cwd=PROJECT_ROOT,
                   check=True, capture_output=True, text=True)


def reset_postgresql(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def bench_database(label: str, database_url: str, n: int, folder: Path, workdir: Path) -> None:
    instance = workdir / f"instance-{label}"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    env = {**os.environ, "KB_DATABASE_URL": database_url, "KB_INSTANCE_PATH": str(instance),
           "KB_INDEX_DIR": str(instance / "index"), "KB_CONTENT_DIR": str(folder)}
    flask(env, "db", "upgrade")
    first = run_import(env, folder)
    total = first["import"] + first["index"]
    print(f"{label}: {first['summary']}", flush=True)
    if first["errors"] or first["conflicts"]:
        print(f"  unexpected errors {first['errors']} / conflicts {first['conflicts']}")
    print(f"  import      {first['import']:7.1f} s  {n / first['import']:6.0f} entries/s "
          f"(this process's CPU time {first['import_cpu']:.1f} s)", flush=True)
    print(f"  index write {first['index']:7.1f} s  {n / first['index']:6.0f} entries/s "
          f"({first['queued']} queued; {first['how']}, {first['left']} left; this process's CPU time "
          f"{first['index_cpu']:.1f} s, its worker processes' not counted)", flush=True)
    print(f"  in all      {total:7.1f} s  {n / total:6.0f} entries/s", flush=True)
    again = run_import(env, folder)
    print(f"  again (nothing to change): {again['import'] + again['index']:.1f} s — {again['summary']}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-import"))
    parser.add_argument("--pg", metavar="URL", help="also run against this PostgreSQL database (emptied first)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {dt.date.today()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    folder = args.workdir / "content"
    start = time.perf_counter()
    write_files(args.entries, folder)
    print(f"wrote {args.entries} entry files in {time.perf_counter() - start:.1f} s", flush=True)
    sqlite = args.workdir / "kb.sqlite3"
    sqlite.unlink(missing_ok=True)
    bench_database("SQLite", f"sqlite:///{sqlite}", args.entries, folder, args.workdir)
    if args.pg:
        reset_postgresql(args.pg)
        bench_database("PostgreSQL", args.pg, args.entries, folder, args.workdir)


if __name__ == "__main__":
    main()
