"""Entries (case studies, interventions, evidence) and what hangs off them.

An entry's parts — theme tags, sources, outcomes, links — are owned by the entry and kept in
the order the author gave (``position``), so that export writes them back unchanged.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import event
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from kb.extensions import db
from kb.markdown import to_plain_text
from kb.models.sites import Site
from kb.models.themes import Theme
from kb.models.types import LabelledEnum, enum_column, utcnow


class EntryType(LabelledEnum):
    CASE_STUDY = "case_study", "Case study"
    INTERVENTION = "intervention", "Intervention"
    EVIDENCE = "evidence", "Evaluation evidence"


class EntryStatus(LabelledEnum):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Visibility(LabelledEnum):
    PUBLIC = "public", "Public"
    NETWORK = "network", "Network members only"


class Polarity(LabelledEnum):
    ENABLER = "enabler", "Enabler"
    BARRIER = "barrier", "Barrier"


class EvidenceDesign(LabelledEnum):
    RCT = "rct", "Randomised controlled trial"
    QUASI_EXPERIMENTAL = "quasi_experimental", "Quasi-experimental"
    CONTROLLED_BEFORE_AFTER = "controlled_before_after", "Controlled before–after"
    BEFORE_AFTER = "before_after", "Before–after"
    TIME_SERIES = "time_series", "Time series"
    QUALITATIVE = "qualitative", "Qualitative"
    ECONOMIC = "economic", "Economic evaluation"
    DESCRIPTIVE = "descriptive", "Descriptive"


class Provenance(LabelledEnum):
    SELF_REPORTED = "self_reported", "Self-reported"
    LOCAL_EVALUATION = "local_evaluation", "Local evaluation"
    INDEPENDENT_EVALUATION = "independent_evaluation", "Independent evaluation"
    PEER_REVIEWED = "peer_reviewed", "Peer-reviewed"


class OutcomeDirection(LabelledEnum):
    INCREASE = "increase", "Increase"
    DECREASE = "decrease", "Decrease"
    NO_CHANGE = "no_change", "No change"
    MIXED = "mixed", "Mixed"


class LinkRel(LabelledEnum):
    EVALUATES = "evaluates", "Evaluates"
    DESCRIBES = "describes", "Describes"
    ADAPTED_FROM = "adapted_from", "Adapted from"


# The Better Care Fund's national metrics; outcomes may also name free-text measures.
BCF_MEASURES: dict[str, str] = {
    "non_elective_admissions": "Non-elective (emergency) admissions",
    "residential_admissions": "Permanent admissions to residential and nursing care",
    "reablement_91_days": "Still at home 91 days after reablement",
    "delayed_transfers_of_care": "Delayed transfers of care",
    "user_experience": "Patient and service user experience",
}

entry_other_site = Table(
    "entry_other_site",
    db.metadata,
    Column("entry_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
    # A site page lists the entries that involve it (the primary key starts with the entry).
    Index("ix_entry_other_site_site", "site_id", "entry_id"),
)


class Entry(db.Model):
    """A knowledge-base entry.

    ``version`` is the number of the entry's latest revision: a form based on an older version
    was started before someone else saved (optimistic locking).
    """

    __tablename__ = "entry"
    __table_args__ = (
        CheckConstraint(
            "evidence_strength IS NULL OR evidence_strength BETWEEN 1 AND 5",
            name="strength_1_to_5",
        ),
        # Listings (home, theme and site pages) filter on status and visibility and sort on date
        # and title: with these columns in the index they never read an entry's row, which on
        # SQLite holds the body before these columns (migration 0009 says more).
        Index("ix_entry_listing", "status", "visibility", "published_on", "title", "type"),
        Index("ix_entry_site_listing", "site_id", "status", "visibility", "published_on", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[EntryType] = mapped_column(enum_column(EntryType, "entry_type"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    # The body's words with the Markdown removed, derived whenever ``body`` is set (see
    # ``_derive_body_text``): search indexes it, and converting 100,000 bodies again on every
    # rebuild of the index would take longer than the rest of the rebuild. NULL: not derived yet.
    body_text: Mapped[str | None] = deferred(mapped_column(Text, nullable=True))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    status: Mapped[EntryStatus] = mapped_column(
        enum_column(EntryStatus, "entry_status"), default=EntryStatus.DRAFT
    )  # indexed first in ix_entry_listing
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility, "entry_visibility"), default=Visibility.PUBLIC
    )
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    updated_on: Mapped[date | None] = mapped_column(Date)
    review_by: Mapped[date | None] = mapped_column(Date)
    # When someone last checked the entry is still right (a lead publishing it, or a content
    # review): not the date of the work (published_on) nor when it was added (published_at).
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    evidence_design: Mapped[EvidenceDesign | None] = mapped_column(
        enum_column(EvidenceDesign, "evidence_design")
    )
    evidence_strength: Mapped[int | None] = mapped_column(Integer)
    # Why this entry's evidence has its strength, in the entry's own terms (its design, size,
    # comparison); shown in "How strong is this evidence?" instead of a generic level label.
    evidence_strength_reason: Mapped[str | None] = mapped_column(String(400))
    evidence_provenance: Mapped[Provenance | None] = mapped_column(
        enum_column(Provenance, "evidence_provenance")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    # SHA-256 of the record this row's content file held when import last applied or matched it;
    # NULL: never imported under the rule (see kb/services/content_io/rule.py).
    imported_digest: Mapped[str | None] = mapped_column(String(64))
    # The submission key of the new-entry form that created it (unique: posting that form again,
    # even at the same moment, finds this entry instead of creating another).
    creation_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Who published the entry and when (set by the publish step; content imports leave them empty).
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    site: Mapped[Site | None] = relationship()
    published_by = relationship("User", foreign_keys=[published_by_id])
    other_sites: Mapped[list[Site]] = relationship(secondary=entry_other_site, order_by=Site.slug)
    theme_tags: Mapped[list[ThemeTag]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="ThemeTag.position"
    )
    sources: Mapped[list[Source]] = relationship(
        cascade="all, delete-orphan", order_by="Source.position"
    )
    outcomes: Mapped[list[Outcome]] = relationship(
        cascade="all, delete-orphan", order_by="Outcome.position"
    )
    links: Mapped[list[EntryLink]] = relationship(
        foreign_keys="EntryLink.from_entry_id",
        cascade="all, delete-orphan",
        order_by="EntryLink.position",
    )
    # Other entries' links to this one go with it, as the foreign key's ON DELETE CASCADE has it;
    # SQLite, which does not enforce foreign keys here, would otherwise keep links to nothing.
    linked_from: Mapped[list[EntryLink]] = relationship(
        foreign_keys="EntryLink.to_entry_id",
        cascade="all, delete-orphan",
        overlaps="to_entry",
    )

    def __repr__(self) -> str:
        return f"<Entry {self.slug}>"


_OFFERED = "_kb_offered_body_text"


def offer_body_text(entry: Entry, body: str, text: str) -> None:
    """Hand ``entry`` the plain text of ``body``, derived elsewhere: ``text`` must be
    ``to_plain_text(body)``. The next time ``entry.body`` is set to exactly ``body`` it takes
    ``text`` instead of converting again (import derives plain text in worker processes)."""
    entry.__dict__[_OFFERED] = (body, text)


@event.listens_for(Entry.body, "set")
def _derive_body_text(entry: Entry, value: str | None, _old, _initiator) -> None:
    offered = entry.__dict__.pop(_OFFERED, None)
    value = value or ""
    entry.body_text = offered[1] if offered is not None and offered[0] == value else to_plain_text(value)


class ThemeTag(db.Model):
    """An entry tagged with a theme as an enabler or a barrier, with a one-line reason."""

    __tablename__ = "theme_tag"
    __table_args__ = (
        UniqueConstraint("entry_id", "theme_id", "polarity"),
        # A theme page's side, and the theme's counts, start from the theme and polarity.
        Index("ix_theme_tag_theme_listing", "theme_id", "polarity", "entry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="RESTRICT"))  # ix_theme_tag_theme_listing
    polarity: Mapped[Polarity] = mapped_column(enum_column(Polarity, "tag_polarity"))
    note: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)

    entry: Mapped[Entry] = relationship(back_populates="theme_tags")
    theme: Mapped[Theme] = relationship()


class Source(db.Model):
    """A source an entry rests on. ``date`` is text: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    date: Mapped[str | None] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Outcome(db.Model):
    """One measured outcome of an evidence entry, as reported."""

    __tablename__ = "outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(200))
    direction: Mapped[OutcomeDirection] = mapped_column(
        enum_column(OutcomeDirection, "outcome_direction")
    )
    value: Mapped[str] = mapped_column(String(200))
    period: Mapped[str | None] = mapped_column(String(100))
    population: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def measure_label(self) -> str:
        """The measure as readers should see it (BCF metric codes become their names)."""
        return BCF_MEASURES.get(self.measure, self.measure)


class EntryLink(db.Model):
    """A typed link from one entry to another, e.g. evidence that *evaluates* an intervention."""

    __tablename__ = "entry_link"
    __table_args__ = (UniqueConstraint("from_entry_id", "to_entry_id", "rel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    to_entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    rel: Mapped[LinkRel] = mapped_column(enum_column(LinkRel, "link_rel"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    from_entry: Mapped[Entry] = relationship(foreign_keys=[from_entry_id], overlaps="links")
    to_entry: Mapped[Entry] = relationship(foreign_keys=[to_entry_id], overlaps="linked_from")
