"""Signed-in sessions, one row per browser that signed in, so that each can be ended on its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.types import utcnow


class UserSession(db.Model):
    """One signed-in session of a user (see :mod:`kb.services.accounts`).

    The session cookie carries a random key; only its SHA-256 digest is stored, so a copy of
    the database cannot be turned into working cookies. Deleting the row ends the session at
    once, whoever holds a copy of the cookie.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The network address it was started from, for the person's own record of where they are signed in.
    client: Mapped[str | None] = mapped_column(String(64))
