"""Warm a new worker's search so that its first readers do not pay for a cold start.

With the segment arrays (:mod:`kb.search.segment_arrays`) there is nothing to decode, but a fresh
process still maps each segment's file, asks the kernel to read it ahead (after a reboot the page
cache is empty), makes the bit sets of every facet value and visibility label, and runs Whoosh's
query parser and NumPy for the first time. :func:`warm` does that with a browse and a search for
each of the index's commonest words, as an anonymous reader would, within a time limit.

:func:`warm_in_background` runs it on a daemon thread: start-up and readiness never wait for it,
and nothing it meets — a missing, empty or broken index, a shutdown under way — can fail
start-up; it only means no warming (``/healthz/ready`` reports the index itself).
"""

from __future__ import annotations

import logging
import mmap
import threading
import time
from concurrent.futures import Executor
from concurrent.futures import wait as futures_wait
from typing import Callable

from kb.search.backend import IndexUnavailable, SearchRequest
from kb.search.documents import ANYONE

log = logging.getLogger(__name__)

WARM_WORDS = 12  # the commonest title words searched at start-up
WARM_SECONDS = 20.0  # warming stops after this long, wherever it is


def commonest_words(backend, limit: int = WARM_WORDS) -> list[str]:
    """The indexed forms of the title words found in most entries (from the segment arrays)."""
    counts: dict[str, int] = {}
    searcher = backend._pool.get()
    for leaf, _offset in searcher.reader().leaf_readers():
        arrays = backend._segments.arrays(leaf)
        if arrays is None:
            continue
        for word, count in arrays.commonest("title", limit * 4):
            counts[word] = counts.get(word, 0) + count
    return sorted(counts, key=lambda w: (-counts[w], w))[:limit]


def warm(backend, seconds: float = WARM_SECONDS) -> bool:
    """Map and read ahead every segment's arrays, then browse and search the commonest words.

    :return: whether warming finished within ``seconds``. Raises what the index raises
        (:class:`~kb.search.backend.IndexUnavailable` for a missing or unreadable one).
    """
    deadline = time.monotonic() + seconds
    searcher = backend._pool.get()
    for leaf, _offset in searcher.reader().leaf_readers():
        arrays = backend._segments.arrays(leaf)
        if arrays is not None:
            arrays.advise(mmap.MADV_WILLNEED)  # the kernel reads the file in while we go on
    texts = ["", *commonest_words(backend)]
    for sort in ("relevance", "newest", "title"):
        for text in texts:
            if time.monotonic() > deadline:
                return False
            backend.search(SearchRequest(text=text, readers=(ANYONE,), filters={}, sort=sort, offset=0, limit=20,
                                         time_budget=2.0))
        texts = texts[:2]  # other sorts: the browse page and one search are enough
    return True


def warm_in_background(backend, seconds: float = WARM_SECONDS,
                       report: Callable[[str], None] | None = None) -> threading.Thread:
    """Start :func:`warm` on a daemon thread and return the thread. Never raises.

    ``report`` (default: this module's logger at INFO) is given one line saying how it went.
    """
    report = report or log.info

    def run() -> None:
        started = time.monotonic()
        try:
            finished = warm(backend, seconds)
        except IndexUnavailable as error:
            report(f"search not warmed: {error.message}")
            return
        except Exception as error:  # noqa: BLE001 - warming is an optimisation: whatever fails, serving goes on
            log.warning("search warming stopped by an error", exc_info=True)
            report(f"search not warmed: {error!r}")
            return
        report(f"search warmed in {(time.monotonic() - started) * 1000:.0f} ms"
               + ("" if finished else " (stopped at the time limit)"))

    thread = threading.Thread(target=run, name="kb-search-warming", daemon=True)
    thread.start()
    return thread


def open_in_every_thread(pool: Executor, threads: int, open_searcher: Callable[[], object],
                         timeout: float = 30.0) -> int:
    """Start all ``threads`` threads of a server's ``pool`` now, each opening its searcher.

    gunicorn's threaded worker serves from a :class:`~concurrent.futures.ThreadPoolExecutor`,
    which starts a thread only when every existing one is busy: the 7th and 8th threads of a
    worker appeared only under the busiest moments, hours into a run, each opening its own
    searcher (:class:`kb.search.whoosh_index.SearcherPool`), so a server's open files and memory
    kept rising long after start-up. Here every thread is started before the worker serves:
    each task waits until all are running (so none is reused for another), then opens its
    searcher. From then on the worker's threads and open index files only change when the
    index does. Returns how many threads ran a task; never raises (a missing index only means
    no searcher is open yet).
    """
    everyone = threading.Barrier(threads)
    seen: set[int] = set()

    def run() -> None:
        seen.add(threading.get_ident())
        try:
            everyone.wait(timeout)
        except threading.BrokenBarrierError:
            return
        try:
            open_searcher()
        except IndexUnavailable:
            return  # no index yet, or a broken one: the warming and /healthz/ready say so
        except Exception:  # noqa: BLE001 - an optimisation: serving goes on whatever happens
            log.warning("could not open a searcher in a server thread", exc_info=True)

    tasks = [pool.submit(run) for _ in range(threads)]
    futures_wait(tasks, timeout=timeout + 5)
    return len(seen)


def open_searcher_files(backend) -> None:
    """Open this thread's searcher with every file it opens lazily: Whoosh opens a segment's
    stored fields and sort columns on first use, so a browse in each order and a page of hits
    open them now rather than over a server's first hours.

    :raise IndexUnavailable: if the index is missing or cannot be read.
    """
    for sort in ("newest", "title"):
        backend.search(SearchRequest(text="", readers=(ANYONE,), filters={}, sort=sort, offset=0, limit=1,
                                     time_budget=2.0))


__all__ = ["commonest_words", "open_in_every_thread", "open_searcher_files", "warm", "warm_in_background"]
