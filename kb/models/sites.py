"""Sites: the pioneer areas, plus associates and comparators outside the programme."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.types import LabelledEnum, enum_column


class SiteKind(LabelledEnum):
    PIONEER = "pioneer", "Pioneer"
    ASSOCIATE = "associate", "Network associate"
    COMPARATOR = "comparator", "Comparator"


class Site(db.Model):
    """A place whose integration work the knowledge base describes."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("wave IS NULL OR wave IN (1, 2)", name="wave_1_or_2"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[SiteKind] = mapped_column(enum_column(SiteKind, "site_kind"))
    wave: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(80))
    lead_organisations: Mapped[list[str]] = mapped_column(JSON, default=list)
    population: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(String(400))
    profile: Mapped[str] = mapped_column(Text, default="")
    # When someone last checked the profile is still right ("Page last reviewed").
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    # SHA-256 of the record this row's content file held when import last applied or matched it;
    # NULL: never imported under the rule (see kb/services/content_io/rule.py).
    imported_digest: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<Site {self.slug}>"
