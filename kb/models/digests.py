"""The digest delivery log: one row per member and period, and one per run of ``send-digests``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.types import LabelledEnum, enum_column, utcnow


class DeliveryStatus(LabelledEnum):
    """Where one member's digest for one period stands."""

    CLAIMED = ("claimed", "Being sent")
    SENT = ("sent", "Sent")
    FAILED = ("failed", "Failed (will be retried)")


class DigestRun(db.Model):
    """One run of ``flask kb send-digests`` (not dry runs): when, for which ``now``, and its counts."""

    __tablename__ = "digest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class DigestDelivery(db.Model):
    """One member's digest for one period (see :mod:`kb.services.digests`).

    ``period_key`` names the period: a digest of the member's due subscriptions and where each
    one's period starts. The unique key ``(user_id, period_key)`` is what makes sending safe to
    repeat and to run twice at once: a run first *claims* the row (an INSERT committed on its
    own), and only the run whose INSERT succeeded sends; the others see the row and skip it.
    Once sent, the subscriptions' ``last_sent_at`` moves in the same transaction that marks the
    row ``sent``, so the next period has a new key.

    ``subscription_ids`` and ``entry_ids`` are what was sent (space-separated ids);
    ``claim_token`` identifies the run holding a claim, so that taking over a failed or
    abandoned claim is a compare-and-set that only one run can win.
    """

    __tablename__ = "digest_delivery"
    __table_args__ = (UniqueConstraint("user_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_run.id", ondelete="SET NULL"), index=True)
    period_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "digest_delivery_status"))
    claim_token: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    subscription_ids: Mapped[str] = mapped_column(Text, default="")
    entry_ids: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user = relationship("User")
