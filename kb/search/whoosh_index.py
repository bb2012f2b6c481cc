"""Where the Whoosh index lives on disk, how it is opened, written, swapped and searched.

Layout of the index folder (``instance/index`` by default)::

    current -> gen-<id>     a symbolic link to the live index, replaced atomically by a rebuild
    gen-<id>/               a Whoosh index written with compound=False segments

Compound segments must be read into memory before a searcher can use them (63 ms at 10,000
entries, 650 ms and up to 1.4 GB at 100,000); plain segment files are opened in under a
millisecond, which is what lets every request reuse a searcher that is merely *refreshed*.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import struct
import threading
import uuid
import warnings
import weakref
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.index import FileIndex, LockError
from whoosh.reading import ReaderClosed, SegmentReader
from whoosh.searching import Searcher

from kb.search.backend import IndexUnavailable
from kb.search.schema import build_schema

log = logging.getLogger(__name__)

# How long commands (repair, rebuild's catch-up) wait for another writer before giving up.
# Saves never wait: their updates sit in the database's index queue, and whoever holds the
# lock writes them (kb.search.indexing).
LOCK_TIMEOUT = 30.0
# Small segments written by single saves are merged once there are this many of them; large
# segments are only merged by `flask kb index optimize`, never on a request.
SMALL_SEGMENT_DOCS = 500
SMALL_SEGMENTS_BEFORE_MERGE = 10
# What Whoosh raises when files are missing, truncated or scrambled.
READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, struct.error, pickle.UnpicklingError,
               whoosh_index.IndexError, AttributeError, TypeError, ReaderClosed)

REBUILD_HINT = "Run `flask --app kb kb reindex` to rebuild it."


def _remember_missing_length_columns() -> None:
    """Make Whoosh remember that a field has no length column.

    Whoosh 2.7.4 looks up the length of every posting while writing a segment; for a field
    without lengths (our ``spell`` field, which is not scored) it checks the file system once
    per posting because only *found* columns are cached. With plain (non-compound) segment files
    that is one ``stat`` per posting — a third of all indexing time. Caching the absence too
    changes nothing else: a segment's files never change once written.
    """
    original = whoosh3.W3PerDocReader._cached_reader
    if getattr(original, "remembers_missing", False):
        return

    def cached_reader(self, fieldname, column):
        try:
            return self._readers[fieldname]
        except KeyError:
            reader = original(self, fieldname, column)
            self._readers[fieldname] = reader
            return reader

    cached_reader.remembers_missing = True
    whoosh3.W3PerDocReader._cached_reader = cached_reader


_remember_missing_length_columns()


def merge_small_segments(writer, segments):
    """Whoosh merge policy: fold many small segments together, never touch large ones."""
    small = [s for s in segments if s.doc_count_all() < SMALL_SEGMENT_DOCS]
    if len(small) < SMALL_SEGMENTS_BEFORE_MERGE:
        return segments
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in small]


class OutdatedIndex(Exception):
    """The index was written with another schema (an older version of the site)."""


def schema_signature(schema) -> tuple:
    """What must match for an index to be read correctly: fields, their types, formats, columns.

    (Whoosh's own schema equality compares column objects by identity, so it never holds.)
    """
    return tuple(
        (name, type(field).__name__, type(field.format).__name__, repr(sorted(vars(field.format).items()))
         if field.format else "", type(field.column_type).__name__)
        for name, field in sorted(schema.items())
    )


_SIGNATURE = schema_signature(build_schema())


def _open_current(path: Path) -> FileIndex:
    ix = whoosh_index.open_dir(str(path))
    # Positions and fields are read directly (kb.search.postings), so an index written with an
    # older schema would be misread rather than fail: refuse it and ask for a rebuild.
    if schema_signature(ix.schema) != _SIGNATURE:
        raise OutdatedIndex
    return ix


class IndexStore:
    """The index folder: opening the live index, writing to it, and swapping in a new one."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._pointer = self.root / "current"

    def live_path(self) -> Path | None:
        """The folder of the live index, or ``None`` if there is none."""
        try:
            target = os.readlink(self._pointer)
        except OSError:
            return None
        return self.root / target

    def open(self) -> FileIndex:
        """Open the live index. :raise IndexUnavailable: if it is missing, unreadable or outdated."""
        return self._guarded(_open_current)

    def open_searcher(self) -> Searcher:
        """A new searcher on the live index. :raise IndexUnavailable: if it is missing, unreadable or outdated."""
        return self._guarded(lambda path: _open_current(path).searcher())

    def _guarded(self, action):
        path = self.live_path()
        if path is None or not path.is_dir():
            raise IndexUnavailable(f"The search index has not been built yet. {REBUILD_HINT}")
        # Whoosh leaves a file open when it fails to parse it; it is closed when the failed
        # attempt's traceback is freed, which is what the warning filter and collect are for.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return action(path)
            except whoosh_index.EmptyIndexError:
                problem = f"The search index is empty or incomplete. {REBUILD_HINT}"
            except OutdatedIndex:
                problem = f"The search index was built by an older version of the site. {REBUILD_HINT}"
            except READ_ERRORS as error:
                log.error("search index at %s cannot be opened: %s", path, repr(error))
                problem = f"The search index cannot be read. {REBUILD_HINT}"
            gc.collect()
        raise IndexUnavailable(problem)

    def create_if_missing(self) -> None:
        """Create an empty live index if there is none (a new installation)."""
        if self.live_path() is None:
            path = self.new_generation()
            self.swap_in(path)

    def new_generation(self) -> Path:
        """Create a new, empty index folder beside the live one and return its path."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"gen-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        whoosh_index.create_in(str(path), build_schema())
        return path

    def swap_in(self, path: Path) -> None:
        """Make ``path`` the live index in one atomic step, then delete the old one.

        Processes that still have the old index open keep reading their open files (POSIX
        keeps unlinked files alive); they notice the new link on their next search.
        """
        old = self.live_path()
        temporary = self.root / f".current-{uuid.uuid4().hex[:8]}"
        os.symlink(path.name, temporary)
        os.replace(temporary, self._pointer)
        if old is not None and old != path:
            shutil.rmtree(old, ignore_errors=True)

    def writer(self, ix: FileIndex, *, wait: bool = True):
        """A writer on ``ix``. With ``wait``, waits up to :data:`LOCK_TIMEOUT` for other writers.

        :raise LockError: if the lock is held by another writer (at once when not ``wait``).
        """
        return ix.writer(timeout=LOCK_TIMEOUT if wait else 0.0, delay=0.02, compound=False)


class _Owned:
    """A thread's searcher, held only by that thread's ``threading.local`` storage.

    When the thread ends, Python frees its thread-local storage, this holder goes with it and
    its finalizer closes the searcher. That is what keeps a server that starts a thread per
    request (``flask run``) or replaces worker threads from leaking open files and memory.
    """

    __slots__ = ("searcher", "path", "epoch", "finalizer", "__weakref__")

    def __init__(self, searcher: Searcher, path: Path | None, epoch: int):
        self.searcher, self.path, self.epoch = searcher, path, epoch
        self.finalizer = weakref.finalize(self, _close_quietly, searcher)


def _close_quietly(searcher: Searcher) -> None:
    try:
        searcher.close()
    except READ_ERRORS:
        pass


class SearcherPool:
    """One searcher per thread, reused across requests and replaced when the index changes.

    A searcher is only replaced after a commit (or a rebuild, which changes the ``current``
    link); every other request reuses it, at the cost of one directory listing to check.
    Whoosh searchers read their files with seek-then-read on shared file objects, so one
    searcher is never shared between threads. Every searcher is closed as soon as nothing can
    use it any more: when its thread replaces it, when its thread ends, or on :meth:`close`.
    """

    def __init__(self, store: IndexStore):
        self._store = store
        self._local = threading.local()
        # Every live holder, weakly, so that close() can reach other threads' searchers without
        # keeping a dead thread's searcher open.
        self._open: weakref.WeakSet[_Owned] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by close(): other threads' searchers are then closed too

    def open_count(self) -> int:
        """How many searchers are open now (one at most per live thread that searched)."""
        with self._lock:
            return sum(1 for owned in list(self._open) if owned.finalizer.alive)

    def get(self) -> Searcher:
        """A searcher on the latest committed state of the live index.

        :raise IndexUnavailable: if the index is missing or cannot be read.
        """
        path = self._store.live_path()
        owned: _Owned | None = getattr(self._local, "owned", None)
        if owned is not None and owned.path == path and owned.epoch == self._epoch \
                and not owned.searcher.is_closed:
            try:
                if owned.searcher.up_to_date():
                    return owned.searcher
            except READ_ERRORS as error:
                self.discard()
                log.error("search index cannot be read: %s", repr(error))
                raise IndexUnavailable(f"The search index cannot be read. {REBUILD_HINT}") from None
        # Whoosh 2.7.4's Searcher.refresh() keys reusable readers by generation but looks them
        # up by segment id, so it never reuses one and leaves all but one unclosed. Reopening
        # costs a few milliseconds with plain segment files, and the costly parts (per-segment
        # bit sets and sort orders) are cached by segment id anyway.
        self.discard()
        epoch = self._epoch
        searcher = self._store.open_searcher()
        owned = _Owned(searcher, path, epoch)
        self._local.owned = owned
        with self._lock:
            self._open.add(owned)
        return searcher

    def discard(self) -> None:
        """Close this thread's searcher (after a read error, so the next search reopens)."""
        owned = getattr(self._local, "owned", None)
        self._local.owned = None
        if owned is not None:
            owned.finalizer()

    def close(self) -> None:
        """Close every thread's searcher (when the application shuts down, and between tests)."""
        with self._lock:
            holders = list(self._open)
            self._open = weakref.WeakSet()
            self._epoch += 1
        for owned in holders:
            owned.finalizer()


__all__ = ["IndexStore", "SearcherPool", "LockError", "READ_ERRORS", "merge_small_segments"]
