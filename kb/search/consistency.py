"""Does the index agree with the database? Find every disagreement, and repair them.

Each indexed document carries its entry's id and a stamp of the state it was built from
(version, status, visibility). Comparing those with the database is cheap — two columns from
each side, no text — so the check can run after every deployment or crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

from sqlalchemy import select

from kb.extensions import db
from kb.models import Entry
from kb.search.backend import SearchBackend
from kb.search.documents import stamp_for
from kb.search.indexing import (BULK_DRAIN_BATCH, all_documents, drain, forget_queued, load_documents, queue_position,
                                queued)

T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Disagreement:
    """One entry on which the index and the database disagree."""

    entry_id: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.problem}"


def database_stamps() -> dict[int, str]:
    """Every entry id in the database with the stamp its document should carry."""
    rows = db.session.execute(select(Entry.id, Entry.version, Entry.status, Entry.visibility))
    return {id_: stamp_for(version, status.value, visibility.value) for id_, version, status, visibility in rows}


def check(backend: SearchBackend) -> list[Disagreement]:
    """Every disagreement between the index and the database, by entry id.

    :raise IndexUnavailable: if the index is missing or cannot be read (everything disagrees).
    """
    expected = database_stamps()
    actual = backend.stamps()
    problems = []
    for entry_id, stamp in expected.items():
        if entry_id not in actual:
            problems.append(Disagreement(entry_id, "missing from the index"))
        elif actual[entry_id] != stamp:
            problems.append(Disagreement(entry_id, f"out of date in the index (index has {actual[entry_id]}, database has {stamp})"))
    for entry_id in actual.keys() - expected.keys():
        problems.append(Disagreement(entry_id, "in the index but no longer in the database"))
    return sorted(problems)


def write_queued(backend: SearchBackend) -> int:
    """Write the index updates saves have queued, waiting for the lock; return how many there were.

    Rows stay queued if the index is missing or unreadable (a rebuild covers them).
    """
    count = queued()
    if count:
        drain(backend, wait=True)
    return count


def repair(backend: SearchBackend, problems: Iterable[Disagreement]) -> int:
    """Re-index (or remove) the entries of ``problems``; return how many were fixed."""
    ids = sorted({p.entry_id for p in problems})
    for start in range(0, len(ids), BULK_DRAIN_BATCH):  # bounded memory, however many disagree
        backend.apply(ids[start:start + BULK_DRAIN_BATCH], load_documents)
    return len(ids)


def rebuild(
    backend: SearchBackend, progress: Callable[[Iterable[T], int], Iterable[T]] = lambda items, n: items
) -> tuple[int, int]:
    """Build a fresh index from the database, swap it in, then catch up with saves made meanwhile.

    :param progress: wraps the stream of documents (the CLI passes a progress bar) given its length.
    :return: the number of documents indexed, and the number of entries re-indexed afterwards.
    """
    covered = queue_position()
    count = db.session.scalar(select(db.func.count(Entry.id))) or 0
    indexed = backend.rebuild(progress(all_documents(), count))
    forget_queued(covered)  # queued before the rebuild read the database: written by it
    return indexed, repair(backend, check(backend))

