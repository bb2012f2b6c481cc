"""Import benchmark: ``flask kb import`` of N new content files into a fresh database.

1. Writes N synthetic entries (:mod:`bench.corpus`: ~1,000-word Markdown bodies, the 25 pioneer
   sites, the real 31 themes, some links between entries) as content files, in the format
   ``flask kb export`` writes (:func:`kb.services.content_io.exporter.markdown_file`), beside a
   copy of ``content/sites`` and ``content/themes.yml``.
2. Creates a fresh database with the migrations and its (empty) search index, as ``make run``
   does (``flask kb db upgrade``, ``flask kb index check --repair``).
3. In a fresh process (cold: nothing cached, nothing imported yet), imports the folder with
   :func:`kb.services.content_io.import_content` — the function ``flask kb import`` calls —
   and then writes the search index updates it queued, as ``flask kb import`` does at its end
   (:func:`kb.search.indexing.drain`; were the index missing, it would be rebuilt, as ``make run``'s
   ``flask kb index check --repair`` does) — timing each; prints entries/s for both and in all,
   the CPU time of the importing process and of its worker processes (the import's file readers,
   the index's writers), and the importing process's peak memory. The machine may be shared: the
   load average is printed, and the CPU times give what the run would take on two otherwise idle
   cores at best.
4. Imports the same folder again (nothing changes: every file is found equal to its row), so the
   queued updates are written by drain, as any later import's are.

With ``--pg URL`` (a PostgreSQL server URL whose database may be dropped and re-made: every table
is dropped first) the same runs against PostgreSQL.

Run: ``.venv/bin/python -m bench.import --entries 10000 --workdir /tmp/kb-import`` (see docs/benchmarks.md).
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


# Runs in a fresh process, so that the figures are cold (nothing imported or cached yet). CPU
# times are this process's and its finished children's (the import's readers, the index's writers).
IMPORT_SCRIPT = """
import json, os, resource, sys, time
from datetime import datetime, timezone
from pathlib import Path
from kb import create_app
from kb.search import backend
from kb.search.consistency import rebuild
from kb.search.indexing import BULK_DRAIN_BATCH, all_documents, drain, queued
from kb.services.content_io import import_content

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

def main():
    app = create_app()
    with app.app_context():
        start, cpu, kids = time.perf_counter(), time.process_time(), children_cpu()
        report = import_content(Path(sys.argv[1]), now=datetime.now(timezone.utc), write_index=False)
        imported, imported_cpu, imported_kids = time.perf_counter(), time.process_time(), children_cpu()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        waiting = queued()
        how = "drain"
        if not drain(backend(), wait=True, batch=BULK_DRAIN_BATCH):  # no index yet: built from the database, as make run does
            how = "rebuild"
            rebuild(backend())
        indexed, indexed_cpu, indexed_kids = time.perf_counter(), time.process_time(), children_cpu()
        # The part of the index write spent reading documents from the database (in this process).
        documents = sum(1 for _ in all_documents()) if how == "rebuild" else 0
        read_documents = time.perf_counter() - indexed
        print(json.dumps({"import": imported - start, "index": indexed - imported,
                          "import_cpu": imported_cpu - cpu, "import_workers_cpu": imported_kids - kids,
                          "index_cpu": indexed_cpu - imported_cpu, "index_workers_cpu": indexed_kids - imported_kids,
                          "import_rss_mb": rss, "documents": documents, "read_documents": read_documents,
                          "queued": waiting, "how": how,
                          "left": queued(), "summary": report.summary(), "errors": report.errors[:5],
                          "conflicts": len(report.conflicts)}))

if __name__ == "__main__":  # the import's worker processes import this module again
    main()
"""


def run_import(env: dict, folder: Path, workdir: Path) -> dict:
    script = workdir / "import_run.py"
    script.write_text(IMPORT_SCRIPT, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), str(folder)], env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
                         cwd=PROJECT_ROOT, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the import run failed (exit status {out.returncode}):\n{out.stderr}")
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
    flask(env, "kb", "index", "check", "--repair")
    load = os.getloadavg()[0]
    first = run_import(env, folder, workdir)
    total = first["import"] + first["index"]
    print(f"{label}: {first['summary']}", flush=True)
    if first["errors"] or first["conflicts"]:
        print(f"  unexpected errors {first['errors']} / conflicts {first['conflicts']}")
    import_cpu = first["import_cpu"] + first["import_workers_cpu"]
    index_cpu = first["index_cpu"] + first["index_workers_cpu"]
    print(f"  import      {first['import']:7.1f} s  {n / first['import']:6.0f} entries/s "
          f"(CPU {import_cpu:.1f} s: {first['import_cpu']:.1f} s in the importing process, "
          f"{first['import_workers_cpu']:.1f} s in its worker processes; peak memory of the importing "
          f"process {first['import_rss_mb']:.0f} MB)", flush=True)
    print(f"  index write {first['index']:7.1f} s  {n / first['index']:6.0f} entries/s "
          f"({first['queued']} queued; {first['how']}, {first['left']} left; CPU {index_cpu:.1f} s: "
          f"{first['index_cpu']:.1f} s in the importing process, {first['index_workers_cpu']:.1f} s in "
          f"the index's writing processes)", flush=True)
    if first["documents"]:
        print(f"              of which reading the {first['documents']} documents from the database "
              f"(timed again on its own afterwards): {first['read_documents']:.1f} s", flush=True)
    print(f"  in all      {total:7.1f} s  {n / total:6.0f} entries/s; CPU {import_cpu + index_cpu:.1f} s "
          f"(at best {n / (import_cpu + index_cpu) * 2:.0f} entries/s on 2 cores doing nothing else)", flush=True)
    print(f"  load average {load:.1f} before the run, {os.getloadavg()[0]:.1f} after", flush=True)
    again = run_import(env, folder, workdir)
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
