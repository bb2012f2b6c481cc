"""Search benchmark: the knowledge base's Whoosh search against SQLite FTS5 on the same corpus.

For each corpus size this generates synthetic entries (:mod:`bench.corpus`: ~1,000-word
Markdown bodies, the 25 pioneer sites, the real 31 themes), then

1. builds the Whoosh index exactly as ``flask kb reindex`` does (documents with the plain text
   that saving derived, worker processes writing segments, each segment's memory-mapped arrays
   written, a fresh generation swapped in) and prints documents per second and size;
2. builds SQLite FTS5 over the same corpus (:mod:`bench.fts5`) with the same work per query
   (match, filters, facet counts, snippets, page 1);
3. in ONE FRESH PROCESS (nothing cached in it, as a gunicorn worker just started; the operating
   system's page cache holds both engines' files, as on a server that has been running), runs
   every query of :mod:`bench.queries` (243: words, phrases, boolean, prefix, fielded filters)
   through both engines INTERLEAVED — query by query, the engine that goes first alternating —
   once (cold: each engine's first sight of each query) and then ``--warm-passes`` more times
   (warm), timing each by the wall clock and by the thread's CPU time. This is repeated in
   ``--rounds`` fresh processes one after another, and each query's figure is its median over
   them, which keeps one stall of a shared machine from deciding a p95. It prints p50/p95/max
   of each and the ratios. The Whoosh side is the search page's work: filters parsed from the
   typed query, visibility labels, facet counts, page 1 of 20, and — as the search service does
   with the database's text — the hits' titles, summaries and body snippets read from SQLite (the
   FTS5 file's ``doc`` table) and highlighted (:func:`whoosh_page`);
4. in another fresh process, Whoosh alone, cold then warm: that process's private (anonymous)
   and file-backed resident memory, which is what a gunicorn worker adds;
5. measures how long an edited entry takes to become findable (commit to first hit, with a
   searcher already open, as on a live server).

One process alternating, rather than a process per engine, so that both engines meet the same
machine load at the same moments: the machine is shared, and the load average is printed.

Run: ``.venv/bin/python -m bench.search --sizes 10000 100000`` (see docs/benchmarks.md).
``--reuse`` keeps the corpus, index and FTS5 file of an earlier run in ``--workdir`` (only the
queries are timed again; arrays missing from a reused index are written first, and timed).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from kb.config import PROJECT_ROOT
from kb.markdown import to_plain_text
from kb.search.backend import SearchHits, SearchRequest
from kb.search.documents import ANYONE, IndexDocument, readers_for, stamp_for
from kb.search.glossary import Glossary, load_items
from kb.search import segment_arrays
from kb.search.whoosh_backend import WhooshBackend
from kb.search.whoosh_index import IndexStore
from kb.search.snippets import highlight, snippet
from kb.search.whoosh_query import analyse
from kb.services.errors import BadRequest
from kb.services.filters import Filters

from bench import corpus
from bench.fts5 import Fts5Index
from bench.queries import QUERIES


def document(entry: dict) -> IndexDocument:
    """The index document for a corpus entry, built as :func:`kb.search.documents.document_for` does.

    ``entry["body_text"]`` is the plain text saving derived (see :func:`saved_entries`).
    """
    sites = [(entry["site"], entry["site_name"]), *entry["other_sites"]]
    about = [name for _, name in sites]
    for tag in entry["themes"]:
        about += [tag["name"], tag["note"]]
    about += entry["outcomes"]
    return IndexDocument(
        id=entry["id"],
        stamp=stamp_for(1, entry["status"], entry["visibility"]),
        title=entry["title"],
        summary=entry["summary"],
        body=entry["body_text"],
        about=" \n".join(about),
        type=entry["type"],
        sites=tuple(slug for slug, _ in sites),
        themes=tuple(dict.fromkeys(t["slug"] for t in entry["themes"])),
        tags=tuple(dict.fromkeys(f"{t['slug']}:{t['polarity']}" for t in entry["themes"])),
        polarities=tuple(dict.fromkeys(t["polarity"] for t in entry["themes"])),
        year=entry["published"].year,
        published=entry["published"],
        strength=entry["strength"],
        readers=readers_for(entry["status"], entry["visibility"]),
    )


def saved_entries(n: int, procs: int) -> list[dict]:
    """The corpus as the database holds it after saving: each body also as plain text.

    Saving an entry derives ``Entry.body_text`` once; here ``procs`` processes do it for the
    whole corpus, which is not part of any timed build.
    """
    entries = list(corpus.generate(n))
    with multiprocessing.Pool(procs) as pool:
        texts = pool.map(to_plain_text, [e["body"] for e in entries], chunksize=200)
    for entry, text in zip(entries, texts):
        entry["body_text"] = text
    return entries


def request_for(query: str) -> SearchRequest:
    """The request the search page makes for ``query`` typed by an anonymous reader."""
    filters = Filters.from_args({"q": query})
    chosen = {name: value for name in ("type", "site", "theme", "polarity", "year", "strength")
              if (value := getattr(filters, name))}
    return SearchRequest(text=filters.q, readers=(ANYONE,), filters=chosen, sort=filters.effective_sort,
                         offset=0, limit=20, time_budget=2.0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def load_average() -> str:
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


def memory() -> dict[str, int]:
    """This process's resident memory in kB: private (anonymous) and file-backed (shared pages)."""
    with open("/proc/self/status") as file:
        fields = dict(line.split(":", 1) for line in file if line.startswith("Rss"))
    return {name: int(value.split()[0]) for name, value in fields.items()}


def _glossary() -> Glossary:
    return Glossary.build(load_items(PROJECT_ROOT / "content" / "glossary.yml"), analyse)


def _requests() -> dict[str, SearchRequest | None]:
    requests: dict[str, SearchRequest | None] = {}
    for query in QUERIES:
        try:
            requests[query] = request_for(query)
        except BadRequest:
            requests[query] = None  # the search page answers it with a message, no search
    return requests


RUNS = ("cold", "warm")
CLOCKS = ("wall", "cpu")


def interleaved(index_root: str, fts_path: str, warm_passes: int) -> dict:
    """Run in a fresh process: every query through both engines, alternating, cold then warm.

    Each query is timed by the wall clock and by the CPU time of this thread (SQLite's work runs
    in it too), which a busy machine inflates far less. Warm figures are each query's median
    over ``warm_passes`` passes.
    """
    backend = WhooshBackend(IndexStore(Path(index_root)), _glossary())
    fts = Fts5Index(fts_path, existing=True)
    requests = _requests()
    engines = {
        "whoosh": lambda q: whoosh_page(backend, fts.db, requests[q]) if requests[q] is not None else None,
        "fts5": fts.search,
    }
    times = {(run, engine, clock): [[] for _ in QUERIES] for run in RUNS for engine in engines for clock in CLOCKS}
    partial = 0
    for run, passes in (("cold", 1), ("warm", warm_passes)):
        for _ in range(passes):
            for number, query in enumerate(QUERIES):
                order = ("whoosh", "fts5") if number % 2 == 0 else ("fts5", "whoosh")
                for engine in order:
                    wall, cpu = time.perf_counter(), time.thread_time()
                    answer = engines[engine](query)
                    times[(run, engine, "cpu")][number].append((time.thread_time() - cpu) * 1000)
                    times[(run, engine, "wall")][number].append((time.perf_counter() - wall) * 1000)
                    if run == "warm" and engine == "whoosh" and answer is not None and answer.partial:
                        partial += 1
    backend.close()
    fts.close()
    return {"times": {key: [statistics.median(t) for t in per_query] for key, per_query in times.items()},
            "partial": partial}


def whoosh_page(backend: WhooshBackend, db, request: SearchRequest) -> SearchHits:  # noqa: ANN001 - sqlite3
    """A search page's work on the Whoosh side: the search, then each hit's title, summary and
    body read from SQLite and marked (kb.services.search._results reads them with the cards)."""
    found = backend.search(request)
    ids = [hit.id for hit in found.hits]
    if ids:
        rows = db.execute(f"SELECT id, title, summary, body FROM doc WHERE id IN ({','.join('?' * len(ids))})", ids)
        marked = [(highlight(title, found.highlight), highlight(summary, found.highlight), snippet(body, found.highlight))
                  for _id, title, summary, body in rows]
        assert len(marked) == len(ids), "every hit is in the database"
    return found


def whoosh_memory(index_root: str) -> dict:
    """Run in a fresh process: Whoosh alone, cold then warm; resident memory before and after."""
    before = memory()
    backend = WhooshBackend(IndexStore(Path(index_root)), _glossary())
    requests = _requests()
    for _ in range(2):
        for query in QUERIES:
            if requests[query] is not None:
                backend.search(requests[query])
    after = memory()
    mapped = backend._segments.mapped_count()
    cached = backend._segments.cache.size
    backend.close()
    return {"before": before, "after": after, "mapped": mapped, "cached": cached}


def in_fresh_process(function, *args):
    """``function(*args)`` in a newly started interpreter (nothing imported or cached from here)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _corpus(n: int, workdir: Path, procs: int, reuse: bool) -> list[dict] | None:
    path = workdir / f"corpus-{n}.pickle"
    if reuse and path.exists():
        return None  # loaded only if something has to be built
    start = time.perf_counter()
    entries = saved_entries(n, procs)
    print(f"corpus generated and saved (Markdown converted to plain text once, as saving does): "
          f"{time.perf_counter() - start:.1f} s, not part of any build", flush=True)
    with open(path, "wb") as file:
        pickle.dump(entries, file, protocol=pickle.HIGHEST_PROTOCOL)
    return entries


def _load_corpus(n: int, workdir: Path) -> list[dict]:
    with open(workdir / f"corpus-{n}.pickle", "rb") as file:
        return pickle.load(file)


def bench_size(n: int, workdir: Path, procs: int, reuse: bool, rounds: int, warm_passes: int,
               without_arrays: bool = False) -> dict:
    print(f"\n=== {n:,} entries === (load average {load_average()})", flush=True)
    root = workdir / f"whoosh-{n}"
    fts_path = workdir / f"fts5-{n}.sqlite3"
    entries = _corpus(n, workdir, procs, reuse)
    store = IndexStore(root)
    backend = WhooshBackend(store, _glossary())
    if reuse and store.live_path() is not None and without_arrays:
        for path in root.rglob(f"*{segment_arrays.SUFFIX}"):
            path.unlink()
        print("whoosh index reused from an earlier run; its segment arrays deleted (--without-arrays: "
              "every segment decoded through Whoosh, as before the arrays)", flush=True)
    elif reuse and store.live_path() is not None:
        start = time.perf_counter()
        from whoosh import index as whoosh_index

        written = segment_arrays.write_all(whoosh_index.open_dir(str(store.live_path())), procs)
        print(f"whoosh index reused from an earlier run; {written} segment arrays written in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    else:
        entries = entries if entries is not None else _load_corpus(n, workdir)
        shutil.rmtree(root, ignore_errors=True)
        backend = WhooshBackend(IndexStore(root), _glossary())
        start = time.perf_counter()
        count = backend.rebuild((document(e) for e in entries), procs=procs)
        seconds = time.perf_counter() - start
        print(f"whoosh build: {count:,} docs in {seconds:.1f} s = {count / seconds:.0f} docs/s (procs={procs}, "
              f"segment arrays included)", flush=True)
    arrays = sum(f.stat().st_size for f in root.rglob(f"*{segment_arrays.SUFFIX}"))
    print(f"whoosh index {folder_size(root) / 1e6:.0f} MB, of which segment arrays {arrays / 1e6:.0f} MB", flush=True)
    if not (reuse and fts_path.exists()):
        entries = entries if entries is not None else _load_corpus(n, workdir)
        fts = Fts5Index(str(fts_path))
        start = time.perf_counter()
        fts.build(entries)
        print(f"fts5 build: {n / (time.perf_counter() - start):.0f} docs/s; index {fts.size_bytes() / 1e6:.0f} MB",
              flush=True)
        fts.close()
    del entries

    print(f"queries, interleaved, {rounds} fresh processes one after another, {warm_passes} warm passes in each "
          f"(load average {load_average()})", flush=True)
    rounds_found = [in_fresh_process(interleaved, str(root), str(fts_path), warm_passes) for _ in range(rounds)]
    times = {key: [statistics.median(found["times"][key][q] for found in rounds_found) for q in range(len(QUERIES))]
             for key in rounds_found[0]["times"]}
    result = {"n": n}
    for clock in CLOCKS:
        for run in RUNS:
            for engine in ("whoosh", "fts5"):
                values = times[(run, engine, clock)]
                result[(engine, run, clock)] = (percentile(values, 50), percentile(values, 95), max(values))
                print(f"  {clock:4} {run:4} {engine:6}: p50 {percentile(values, 50):6.1f} ms, "
                      f"p95 {percentile(values, 95):6.1f} ms, max {max(values):5.0f} ms", flush=True)
            whoosh, fts5 = result[("whoosh", run, clock)], result[("fts5", run, clock)]
            print(f"  {clock:4} {run:4} ratio whoosh/fts5: p50 {whoosh[0] / fts5[0]:.2f}, p95 {whoosh[1] / fts5[1]:.2f}",
                  flush=True)
    print(f"  (each figure: per query, the median over the {rounds} processes; load average {load_average()}; "
          f"partial results: {sum(found['partial'] for found in rounds_found)})", flush=True)
    slowest = sorted(zip(times[("cold", "whoosh", "wall")], QUERIES), reverse=True)[:5]
    print("  slowest cold whoosh (wall): " + "; ".join(f"{q!r} {t:.0f} ms" for t, q in slowest), flush=True)

    used = in_fresh_process(whoosh_memory, str(root))
    grown = {k: used["after"].get(k, 0) - used["before"].get(k, 0) for k in ("RssAnon", "RssFile")}
    print(f"whoosh alone in a fresh process, after {2 * len(QUERIES)} searches: private (RssAnon) "
          f"{used['after']['RssAnon'] / 1024:.0f} MB (+{grown['RssAnon'] / 1024:.0f} MB), shared file pages "
          f"(RssFile) {used['after']['RssFile'] / 1024:.0f} MB (+{grown['RssFile'] / 1024:.0f} MB); "
          f"{used['mapped']} segments mapped; per-process cache {used['cached'] / 1e6:.1f} MB", flush=True)
    result["memory"] = used

    findable = _findable_after_save(backend, n)
    totals = [sum(t) for t in findable]
    print(f"edit to findable over {len(findable)} saves: median {percentile(totals, 50):.0f} ms, max {max(totals):.0f} ms "
          f"(commit median {percentile([c for c, _ in findable], 50):.0f} ms, first search median "
          f"{percentile([q for _, q in findable], 50):.0f} ms)", flush=True)
    backend.close()
    return result


def _findable_after_save(backend: WhooshBackend, n: int, edits: int = 10) -> list[tuple[float, float]]:
    """Edit entries as a save does (apply under the lock, merge policy), then search for each.

    Returns (commit ms, first search ms) per edit, with a searcher already open as on a live server.
    """
    backend.search(request_for("care"))
    timings = []
    for number, entry in enumerate(corpus.generate(edits)):
        entry["body_text"] = to_plain_text(entry["body"])
        word = f"zyzzyva{chr(ord('a') + number)}"
        edited = replace(document(entry), title=f"{word.capitalize()} pathway for hospital discharge",
                         stamp=stamp_for(2, "published", "public"), readers=readers_for("published", "public"))
        start = time.perf_counter()
        backend.apply([edited.id], lambda ids: {edited.id: edited})
        committed = time.perf_counter()
        hits = backend.search(request_for(word))
        searched = time.perf_counter()
        assert [h.id for h in hits.hits] == [edited.id], "the edited entry was not found"
        timings.append(((committed - start) * 1000, (searched - committed) * 1000))
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="Whoosh indexing processes")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench"))
    parser.add_argument("--reuse", action="store_true", help="reuse corpus, index and FTS5 file from --workdir")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes timing the queries (medians taken)")
    parser.add_argument("--warm-passes", type=int, default=3, help="warm passes per process (medians taken)")
    parser.add_argument("--without-arrays", action="store_true",
                        help="with --reuse: delete the reused index's segment arrays, to see what they buy")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {len(QUERIES)} queries, "
          f"load average {load_average()}", flush=True)
    for n in args.sizes:
        bench_size(n, args.workdir, args.procs, args.reuse, args.rounds, args.warm_passes, args.without_arrays)
    print(f"\nload average at the end {load_average()}", flush=True)


if __name__ == "__main__":
    main()
