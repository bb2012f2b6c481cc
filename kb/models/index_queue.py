"""The search index's outbox: entries whose index documents must be rewritten.

A row is written in the same transaction as the change that makes it necessary, so a commit
can never be followed by a lost index update: whoever next holds the index lock writes every
queued entry's current document and deletes the rows it wrote (see
:mod:`kb.search.indexing`). A crash, a busy lock or a failed write leaves the rows in place for
the next writer, ``flask kb index check --repair`` or the next start.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.types import utcnow


class IndexQueueItem(db.Model):
    """One pending index update for entry ``entry_id`` (no foreign key: deleted entries are queued too)."""

    __tablename__ = "index_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
