"""Search benchmark: the knowledge base's Whoosh search against SQLite FTS5 on the same corpus.

For each corpus size this generates synthetic entries (:mod:`bench.corpus`: ~1,000-word
Markdown bodies, the 25 pioneer sites, the real 31 themes), then

1. builds the Whoosh index exactly as ``flask kb reindex`` does (documents with the plain text
   that saving derived, worker processes writing segments, a fresh generation swapped in) and
   prints documents per second and size;
2. runs every query of :mod:`bench.queries` (243: words, phrases, boolean, prefix, fielded
   filters) through the search backend the search page uses — filters parsed from the typed
   query, visibility labels, facet counts, highlighted snippets, page 1 of 20 — first once to
   warm caches, then timed, and prints p50/p95/max;
3. measures how long an edited entry takes to become findable (commit to first hit, with a
   searcher already open, as on a live server);
4. builds SQLite FTS5 over the same corpus (:mod:`bench.fts5`) and runs the same queries with
   the same work (match, filters, facet counts, snippets, page 1), and prints the ratio.

Run: ``.venv/bin/python -m bench.search --sizes 1000 10000 100000`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from kb.config import PROJECT_ROOT
from kb.markdown import to_plain_text
from kb.search.backend import SearchRequest
from kb.search.documents import ANYONE, IndexDocument, readers_for, stamp_for
from kb.search.glossary import Glossary, load_items
from kb.search.whoosh_backend import WhooshBackend
from kb.search.whoosh_index import IndexStore
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


def timed(run, queries: list[str]) -> tuple[list[float], list]:
    times, answers = [], []
    for query in queries:
        start = time.perf_counter()
        answers.append(run(query))
        times.append((time.perf_counter() - start) * 1000)
    return times, answers


def bench_size(n: int, workdir: Path, procs: int, skip_fts: bool) -> dict:
    print(f"\n=== {n:,} entries ===", flush=True)
    glossary = Glossary.build(load_items(PROJECT_ROOT / "content" / "glossary.yml"), analyse)
    root = workdir / f"whoosh-{n}"
    shutil.rmtree(root, ignore_errors=True)
    backend = WhooshBackend(IndexStore(root), glossary)

    start = time.perf_counter()
    entries = saved_entries(n, procs)
    print(f"corpus generated and saved (Markdown converted to plain text once, as saving does): "
          f"{time.perf_counter() - start:.1f} s, not part of any build", flush=True)
    start = time.perf_counter()
    count = backend.rebuild((document(e) for e in entries), procs=procs)
    index_seconds = time.perf_counter() - start
    size = folder_size(root)
    print(f"whoosh build: {count:,} docs in {index_seconds:.1f} s = {count / index_seconds:.0f} docs/s (procs={procs}); "
          f"index {size / 1e6:.0f} MB", flush=True)

    requests = {}
    for query in QUERIES:
        try:
            requests[query] = request_for(query)
        except BadRequest as error:
            requests[query] = error
    search = lambda q: backend.search(requests[q]) if isinstance(requests[q], SearchRequest) else None  # noqa: E731
    cold, _ = timed(search, QUERIES)
    warm, answers = timed(search, QUERIES)
    print(f"whoosh search page work, first run (cold caches): p50 {percentile(cold, 50):.1f} ms, "
          f"p95 {percentile(cold, 95):.1f} ms, max {max(cold):.0f} ms", flush=True)
    print(f"whoosh search page work, warm: p50 {percentile(warm, 50):.1f} ms, p95 {percentile(warm, 95):.1f} ms, "
          f"max {max(warm):.0f} ms; partial results: {sum(1 for a in answers if a and a.partial)}", flush=True)
    slowest = sorted(zip(warm, QUERIES), reverse=True)[:5]
    print("  slowest: " + "; ".join(f"{q!r} {t:.0f} ms" for t, q in slowest), flush=True)

    findable = _findable_after_save(backend, n)
    totals = [sum(t) for t in findable]
    print(f"edit to findable over {len(findable)} saves: median {percentile(totals, 50):.0f} ms, max {max(totals):.0f} ms "
          f"(commit median {percentile([c for c, _ in findable], 50):.0f} ms, first search median "
          f"{percentile([q for _, q in findable], 50):.0f} ms)", flush=True)
    result = {"n": n, "docs_per_s": count / index_seconds, "size_mb": size / 1e6, "p50": percentile(warm, 50),
              "p95": percentile(warm, 95), "cold_p95": percentile(cold, 95), "findable_ms": max(totals)}
    backend.close()

    if not skip_fts:
        fts = Fts5Index(str(workdir / f"fts5-{n}.sqlite3"))
        start = time.perf_counter()
        fts.build(entries)
        fts_build = time.perf_counter() - start
        fts_times, _ = timed(lambda q: fts.search(q), QUERIES)
        fts_times, _ = timed(lambda q: fts.search(q), QUERIES)
        print(f"fts5 build: {n / fts_build:.0f} docs/s; index {fts.size_bytes() / 1e6:.0f} MB", flush=True)
        print(f"fts5 search page work, warm: p50 {percentile(fts_times, 50):.1f} ms, "
              f"p95 {percentile(fts_times, 95):.1f} ms, max {max(fts_times):.0f} ms", flush=True)
        print(f"ratio whoosh/fts5: p50 {result['p50'] / percentile(fts_times, 50):.2f}, "
              f"p95 {result['p95'] / percentile(fts_times, 95):.2f}", flush=True)
        result.update(fts_p50=percentile(fts_times, 50), fts_p95=percentile(fts_times, 95))
        fts.close()
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
    parser.add_argument("--skip-fts", action="store_true")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {len(QUERIES)} queries", flush=True)
    for n in args.sizes:
        bench_size(n, args.workdir, args.procs, args.skip_fts)


if __name__ == "__main__":
    main()
