"""Members' subscriptions: saved searches and followed sites and themes, sent as email digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.types import LabelledEnum, enum_column, utcnow


class SubscriptionKind(LabelledEnum):
    """How the member made it: a saved search or browse, or a follow from a site or theme page."""

    SEARCH = ("search", "Saved search")
    SITE = ("site", "Site")
    THEME = ("theme", "Theme")


class Frequency(LabelledEnum):
    """How often the digest is sent; ``off`` keeps the subscription but sends nothing."""

    DAILY = ("daily", "Daily")
    WEEKLY = ("weekly", "Weekly")
    OFF = ("off", "Off (no emails)")


class Subscription(db.Model):
    """One member's saved filters (see :mod:`kb.services.subscriptions`).

    The filters are those of ``/search`` (:class:`kb.services.filters.Filters`): ``q``, ``type``,
    ``polarity``, ``year``, ``strength`` as values, and the site and theme as references to their
    rows, so that a renamed slug keeps the subscription working and a deleted site or theme takes
    its subscriptions with it (rather than silently widening them to everything).

    ``filters_key`` is a digest of the filters: one member cannot hold two subscriptions with the
    same filters (a unique constraint over nullable columns would let NULLs repeat).

    The digest period of a subscription starts at ``last_sent_at`` or, before its first digest,
    at ``created_at`` (:attr:`period_start`); the digest run sets ``last_sent_at``.
    """

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("user_id", "filters_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SubscriptionKind] = mapped_column(enum_column(SubscriptionKind, "subscription_kind"))
    name: Mapped[str] = mapped_column(String(120))
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency, "subscription_frequency"))
    q: Mapped[str] = mapped_column(String(500), default="")
    type: Mapped[str | None] = mapped_column(String(20))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    polarity: Mapped[str | None] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(Integer)
    strength: Mapped[int | None] = mapped_column(Integer)
    filters_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User")
    site = relationship("Site")
    theme = relationship("Theme")

    @property
    def period_start(self) -> datetime:
        """Where the next digest's period starts: the last digest sent, or the subscription's creation."""
        return self.last_sent_at or self.created_at
