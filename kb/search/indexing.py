"""Keeping the index in step with the database: a durable queue, session hooks, document loading.

Every flush that changes what an entry's index document would say writes the entry's id to the
``index_queue`` table *in the same transaction* (so a committed change always has its queued
index update, and a rolled-back one never does). After the commit, the saving process tries to
take the index lock without waiting: if it gets it, it writes the current documents of every
queued entry — its own and anyone else's — and deletes the queue rows it wrote, then looks again
until the queue is empty; if another writer holds the lock, it returns at once, and that writer
picks the row up (it always looks at the queue again after releasing the lock, so a row queued
while it held the lock cannot be missed). Nothing waits on the request path and nothing is
dropped: a crash, a full disk or a busy index leaves rows that the next save,
``flask kb index check`` or the next start writes.

Documents are re-read from the database under the index lock, so the index always ends up
with the latest committed state, whichever process writes last.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Iterator

from flask import current_app, has_app_context
from sqlalchemy import delete, event, insert, inspect, or_, select
from sqlalchemy.orm import Session, defer, selectinload, undefer

from kb.extensions import db
from kb.models import Entry, IndexQueueItem, Outcome, Site, Theme, ThemeTag
from kb.models.types import utcnow
from kb.models.entries import entry_other_site
from kb.search.documents import IndexDocument, document_for

log = logging.getLogger(__name__)

QUEUED = "kb.search.queued"  # session.info: entry ids this transaction has queued
# session.info: while true, commits leave their queued rows for an explicit drain() (bulk import
# writes the index once at the end instead of once per transaction; the rows are queued all the same).
DEFER_DRAIN = "kb.search.defer_drain"
CHUNK = 500
# Queue rows written to the index in one go by a drainer: after a save, and after a bulk import
# (whose large batches the Whoosh backend writes as new segments, in parallel, as a rebuild does).
DRAIN_BATCH = 500
BULK_DRAIN_BATCH = 20_000

DOCUMENT_LOAD_OPTIONS = (
    undefer(Entry.body_text),
    defer(Entry.body),  # only read for entries whose plain text has not been derived yet
    selectinload(Entry.site),
    selectinload(Entry.other_sites),
    selectinload(Entry.theme_tags).selectinload(ThemeTag.theme),
    selectinload(Entry.outcomes),
)


def load_documents(ids: list[int]) -> dict[int, IndexDocument]:
    """Current documents for the entries ``ids`` that still exist, read in a session of their own."""
    documents = {}
    with Session(db.engine) as session:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for entry in session.scalars(select(Entry).where(Entry.id.in_(chunk)).options(*DOCUMENT_LOAD_OPTIONS)):
                documents[entry.id] = document_for(entry)
    return documents


def all_documents(batch: int = CHUNK) -> Iterator[IndexDocument]:
    """Every entry's document, read in batches so memory stays flat at any size."""
    with Session(db.engine) as session:
        ids = list(session.scalars(select(Entry.id).order_by(Entry.id)))
    for start in range(0, len(ids), batch):
        yield from load_documents(ids[start:start + batch]).values()


def _affected(session: Session, obj: object) -> set[int]:
    """Entry ids whose documents may change because ``obj`` was added, changed or deleted."""
    if isinstance(obj, Entry):
        return {obj.id} if obj.id is not None else set()
    if isinstance(obj, (ThemeTag, Outcome)):
        return {obj.entry_id} if obj.entry_id is not None else set()
    if isinstance(obj, Site) and _name_changed(obj):
        involved = select(entry_other_site.c.entry_id).where(entry_other_site.c.site_id == obj.id)
        return set(session.scalars(select(Entry.id).where(or_(Entry.site_id == obj.id, Entry.id.in_(involved)))))
    if isinstance(obj, Theme) and _name_changed(obj):
        return set(session.scalars(select(ThemeTag.entry_id).where(ThemeTag.theme_id == obj.id)))
    return set()


def _name_changed(obj: object) -> bool:
    state = inspect(obj)
    return not state.deleted and state.attrs.name.history.has_changes()


def _collect(session: Session, _flush_context) -> None:
    """Queue, in the flushing transaction, an index update for every entry the flush affected."""
    affected: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        affected |= _affected(session, obj)
    queue_updates(session, affected)


def queue_updates(session: Session, entry_ids: set[int]) -> None:
    """Queue, in ``session``'s transaction, an index update for each of ``entry_ids`` not queued
    by it already. Flushes do this themselves; rows inserted without the ORM (bulk import) are
    queued by whoever inserts them."""
    queued_already = session.info.setdefault(QUEUED, set())
    new = entry_ids - queued_already
    if new:
        now = utcnow()
        # Core, on the session's own connection: the ORM must not be re-entered during a flush.
        session.connection().execute(
            insert(IndexQueueItem.__table__), [{"entry_id": i, "queued_at": now} for i in sorted(new)])
        queued_already |= new


def drain(backend, *, wait: bool = False, batch: int = DRAIN_BATCH) -> bool:  # noqa: ANN001 - a SearchBackend
    """Write every queued index update, then delete the queue rows written.

    :param wait: wait for another writer's lock (commands) instead of leaving the queue to it
        (saves). Either way the queue is looked at again after each write, so rows queued by
        savers that found the lock busy are written before this returns.
    :param batch: how many queue rows to write at a time (:data:`BULK_DRAIN_BATCH` after an import).
    :return: ``True`` if the queue was empty at the end, ``False`` if the index was busy
        (``wait=False``), missing or unreadable — the rows stay queued for the next writer.
    """
    while True:
        with Session(db.engine) as session:
            rows = session.execute(
                select(IndexQueueItem.id, IndexQueueItem.entry_id).order_by(IndexQueueItem.id).limit(batch)
            ).all()
        if not rows:
            return True
        if not backend.apply({entry_id for _, entry_id in rows}, load_documents, wait=wait):
            return False
        with Session(db.engine) as session:
            written = [row_id for row_id, _ in rows]
            for start in range(0, len(written), CHUNK):
                session.execute(delete(IndexQueueItem).where(IndexQueueItem.id.in_(written[start:start + CHUNK])))
            session.commit()


def queue_position() -> int:
    """The id of the newest queued update (0 if none): updates up to it are covered by a rebuild
    that starts now, since it reads every entry afterwards."""
    with Session(db.engine) as session:
        return session.scalar(select(db.func.max(IndexQueueItem.id))) or 0


def forget_queued(up_to: int) -> None:
    """Delete queued updates up to id ``up_to`` (a rebuild has written their entries)."""
    with Session(db.engine) as session:
        session.execute(delete(IndexQueueItem).where(IndexQueueItem.id <= up_to))
        session.commit()


def queued() -> int:
    """How many index updates are waiting in the queue."""
    with Session(db.engine) as session:
        return session.scalar(select(db.func.count(IndexQueueItem.id))) or 0


def _apply(session: Session) -> None:
    if not session.info.pop(QUEUED, False) or not has_app_context() or session.info.get(DEFER_DRAIN):
        return
    backend = current_app.extensions.get("kb.search")
    if backend is None:
        return
    try:
        drain(backend, wait=False)
    except Exception:
        # The commit has happened and must stand; the queued rows are written by the next
        # save, `flask kb index check` or the next start.
        log.exception("search index update failed; the queued updates stay queued")


def _forget(session: Session, _previous_transaction=None) -> None:
    # Any rollback, even of a savepoint, may have removed rows this transaction queued: forget
    # them all, so later flushes queue again (a row too many is harmless, one too few is not).
    session.info.pop(QUEUED, None)


_registered = False


def register_session_hooks(session_class: type[Session]) -> None:
    """Listen to flushes, commits and rollbacks of ``session_class`` (once per process)."""
    global _registered
    if _registered:
        return
    event.listen(session_class, "after_flush", _collect)
    event.listen(session_class, "after_commit", _apply)
    event.listen(session_class, "after_soft_rollback", _forget)
    _registered = True
