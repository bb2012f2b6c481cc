"""Revisions: every saved state of an entry, as a full snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.types import utcnow


class Revision(db.Model):
    """One save of an entry. ``snapshot`` is the entry's record as exported (see content_io)."""

    __tablename__ = "revision"
    __table_args__ = (
        UniqueConstraint("entry_id", "number"),
        UniqueConstraint("submission_key", "entry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    summary: Mapped[str] = mapped_column(String(300), default="")
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    # A random key carried by the editor form: the same form posted twice finds the revision
    # its first post made instead of making another.
    submission_key: Mapped[str | None] = mapped_column(String(64))

    author = relationship("User")
