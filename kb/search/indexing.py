"""Keeping the index in step with the database: session hooks and document loading.

Changes are *collected* when the session flushes (every flush, not just the last one before
commit, so nothing written early in a transaction is missed), *applied* after the commit has
succeeded, and *discarded* on rollback. What is applied is re-read from the database under the
index lock, so the index always ends up with the latest committed state, whichever process
writes last. If a process dies between commit and index write, `flask kb index check` sees
the stale stamp and `--repair` fixes it.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Iterator

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session, defer, selectinload, undefer

from kb.extensions import db
from kb.models import Entry, Outcome, Site, Theme, ThemeTag
from kb.models.entries import entry_other_site
from kb.search.documents import IndexDocument, document_for

log = logging.getLogger(__name__)

PENDING = "kb.search.pending"
CHUNK = 500

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
    pending = session.info.setdefault(PENDING, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        pending |= _affected(session, obj)


def _apply(session: Session) -> None:
    ids = session.info.pop(PENDING, None)
    if not ids or not has_app_context():
        return
    backend = current_app.extensions.get("kb.search")
    if backend is None:
        return
    try:
        backend.apply(ids, load_documents)
    except Exception:
        # The commit has happened and must stand; the index check will find and repair this.
        log.exception("search index update failed for entries %s", sorted(ids))


def _discard(session: Session) -> None:
    session.info.pop(PENDING, None)


_registered = False


def register_session_hooks(session_class: type[Session]) -> None:
    """Listen to flushes, commits and rollbacks of ``session_class`` (once per process)."""
    global _registered
    if _registered:
        return
    event.listen(session_class, "after_flush", _collect)
    event.listen(session_class, "after_commit", _apply)
    event.listen(session_class, "after_rollback", _discard)
    _registered = True

