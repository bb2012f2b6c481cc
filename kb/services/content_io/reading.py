"""Reading content files: the per-file work of an import that needs no database.

:func:`read_file` does everything one Markdown file needs before the database is involved:
reading it safely, parsing its front matter, validating it and, for an entry, deriving the plain
text of its body that search indexes (``Entry.body_text``, :func:`kb.markdown.to_plain_text`).
It is a pure function, so :class:`Workers` runs it in worker processes, one per core, when there
are enough files to be worth starting them; each file is read where it is parsed, so only the
results travel between processes. The import hands each entry's plain text to the model
(:func:`kb.models.entries.offer_body_text`) so that setting the body does not convert it again.

Workers are forked when the importing process has no other thread (``flask kb import``): a
forked worker starts at once, where a spawned one spends 1.6 s importing the application. A
process with other threads (a server, a test's live server) spawns them instead, since a thread
may hold a lock at the moment of forking that the child would then wait on for ever. Forked
workers never touch the database connections they inherit: they only read files. If workers
cannot be started or one dies, the work not yet done is done in this process, as it would be
without workers: a file never goes unread because of the pool. As with any use of
``multiprocessing``, a script that imports content must keep its own work under
``if __name__ == "__main__":`` (a spawned worker imports the script's ``__main__`` module).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from kb.markdown import to_plain_text
from kb.services.content_io import frontmatter
from kb.services.content_io.schema import RESERVED_ENTRY_SLUGS, SLUG_PATTERN, EntryRecord, SiteRecord, validate
from kb.services.records import entry_from_validated, site_from_validated

log = logging.getLogger(__name__)
A = TypeVar("A")
R = TypeVar("R")

# Fewer files than this are read in this process: starting a worker costs about a second (it
# imports the application's modules), reading a file a few milliseconds.
PARALLEL_FROM = 200
# Items handed to a worker at a time: large enough that sending them costs little, small enough
# that the workers stay busy to the end and results arrive steadily.
CHUNK = 16
_SLUG = re.compile(SLUG_PATTERN)
KINDS = {"entries": (EntryRecord, entry_from_validated), "sites": (SiteRecord, site_from_validated)}


@dataclass
class FileRead:
    """One Markdown file, read: its record (None if it has errors) or its errors as (line, message).

    ``lines`` finds the line of any value, for errors found later (e.g. a link to a missing entry).
    ``body_text`` is an entry's ``to_plain_text(record["body"])`` (None for a site or a bad file).
    """

    path: Path
    slug: str
    record: dict[str, Any] | None = None
    lines: frontmatter.LineMap | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)
    body_text: str | None = None


def read_file(path: Path, root: Path, kind: str) -> FileRead:
    """Read, parse and validate one ``sites`` or ``entries`` file under ``root``; never raises for bad input."""
    model, to_record = KINDS[kind]
    read = FileRead(path, path.stem)
    if not _SLUG.match(read.slug) or len(read.slug) > 80:
        read.errors.append((1, "file name must be a slug (lowercase letters, digits and single hyphens) ending in .md"))
        return read
    if model is EntryRecord and read.slug in RESERVED_ENTRY_SLUGS:
        read.errors.append((1, f"file name {read.slug!r} is reserved for the site's own pages: choose another"))
        return read
    try:
        content = frontmatter.split(frontmatter.read_text(path, root))
    except frontmatter.ContentFileError as exc:
        read.errors.append((exc.line, exc.message))
        return read
    validated, problems = validate(model, content.front.data)
    if problems:
        read.errors = [(content.front.line_for(problem.loc), problem.message) for problem in problems]
        return read
    read.record = to_record(validated, content.body)
    read.lines = content.front.lines()
    if model is EntryRecord:
        read.body_text = to_plain_text(read.record.get("body", ""))
    return read


def worker_count(files: int, workers: int | None) -> int:
    """How many worker processes an import of ``files`` files uses (0: none, all work in this process).

    ``workers`` None: one per core from :data:`PARALLEL_FROM` files on.
    """
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if files < PARALLEL_FROM or workers < 2:
            return 0
    return max(0, min(workers, files))


def _context():
    """How to start workers: see the module's docstring."""
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")


class Workers:
    """Worker processes for an import's pure work; a context manager that stops them at its end.

    With ``count`` 0, or once the processes cannot be used, the work is done in this process.
    """

    def __init__(self, count: int):
        self.count = count
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def map(self, function: Callable[[A], R], items: list[A]) -> Iterator[R]:
        """``function`` of each of ``items``, in order, computed ahead by the workers."""
        done = 0
        if self.count and items:
            try:
                if self.pool is None:
                    self.pool = ProcessPoolExecutor(max_workers=self.count, mp_context=_context())
                for result in self.pool.map(function, items, chunksize=CHUNK):
                    done += 1
                    yield result
                return
            except (BrokenProcessPool, OSError) as exc:
                log.warning("the import's worker processes failed (%s); the rest of the work is done here", exc)
                self.count = 0
                if self.pool is not None:
                    self.pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = None
        for item in items[done:]:
            yield function(item)

    def read(self, paths: list[Path], root: Path, kind: str) -> Iterator[FileRead]:
        """:func:`read_file` of each of ``paths`` (``kind``: ``sites`` or ``entries``), in order."""
        return self.map(partial(read_file, root=root, kind=kind), paths)
