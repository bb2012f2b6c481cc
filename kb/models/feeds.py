"""Private feed keys: one per member, for feed addresses that carry network-only entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.types import utcnow


class FeedToken(db.Model):
    """A member's private feed key (see :mod:`kb.services.feed_tokens`).

    The token in the member's feed addresses is derived from ``nonce`` and the app's secret key;
    only its SHA-256 digest is stored, so a copy of the database alone cannot be turned into
    working addresses. Deleting the row (revoking) or replacing it (regenerating) stops every
    address made with the old token at once.
    """

    __tablename__ = "feed_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user = relationship("User")
