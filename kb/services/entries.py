"""Entries: reading them as a given user, and saving them from records.

Saving goes through :func:`apply_fields`, :func:`apply_links` and :func:`record_revision`, which
import and the editor (:mod:`kb.services.authoring`) both use, so that every save leaves a revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import (
    Entry,
    EntryLink,
    EntryStatus,
    EntryType,
    EvidenceDesign,
    LinkRel,
    Outcome,
    OutcomeDirection,
    Polarity,
    Provenance,
    Revision,
    Site,
    Source,
    Theme,
    ThemeTag,
    Visibility,
)
from kb.services.records import entry_record
from kb.services.versions import claim_version
from kb.services.errors import NotFound
from kb.services.permissions import can_know_of, can_view_entry, visible_entries

# Relationships every entry page and listing needs, loaded up front to avoid N+1 queries.
ENTRY_LOAD_OPTIONS = (
    selectinload(Entry.site),
    selectinload(Entry.other_sites),
    selectinload(Entry.theme_tags).selectinload(ThemeTag.theme),
)


def get_visible_entry(slug: str, user: Any) -> Entry:
    """Return the entry ``slug`` if ``user`` may read it: published and visible to them, or an
    entry of a site they edit or lead, whatever its status (so reviewers can read drafts).

    :raise NotFound: if there is no such entry *or* the user may not read it — private entries
        must not reveal that they exist.
    """
    entry = db.session.scalar(
        select(Entry)
        .where(Entry.slug == slug)
        .options(
            *ENTRY_LOAD_OPTIONS,
            selectinload(Entry.sources),
            selectinload(Entry.outcomes),
            selectinload(Entry.links).selectinload(EntryLink.to_entry),
        )
    )
    if entry is None or not can_know_of(user, entry):
        raise NotFound("There is no entry at this address, or it is not published.")
    return entry


def latest_entries(user: Any, limit: int = 6) -> list[Entry]:
    """The most recently published entries ``user`` may read, newest first."""
    return list(
        db.session.scalars(
            select(Entry)
            .where(visible_entries(user))
            .order_by(Entry.published_on.desc(), Entry.title)
            .limit(limit)
            .options(*ENTRY_LOAD_OPTIONS)
        )
    )


def count_visible(user: Any) -> dict[str, int]:
    """How many entries of each type ``user`` may read."""
    rows = db.session.execute(
        select(Entry.type, func.count(Entry.id)).where(visible_entries(user)).group_by(Entry.type)
    )
    counts = {entry_type.value: 0 for entry_type in EntryType}
    counts.update({entry_type.value: n for entry_type, n in rows})
    return counts


@dataclass(frozen=True)
class RelatedEntry:
    """Another entry linked to this one, with the link described from this entry's side."""

    label: str
    entry: Entry


_INCOMING_LABELS = {
    LinkRel.EVALUATES: "Evaluated by",
    LinkRel.DESCRIBES: "Described by",
    LinkRel.ADAPTED_FROM: "Adapted into",
}


def related_entries(entry: Entry, user: Any) -> list[RelatedEntry]:
    """Entries this one links to and entries that link to it, that ``user`` may read."""
    related = [
        RelatedEntry(link.rel.label, link.to_entry)
        for link in entry.links
        if can_view_entry(user, link.to_entry)
    ]
    incoming = db.session.scalars(
        select(EntryLink)
        .where(EntryLink.to_entry_id == entry.id)
        .options(selectinload(EntryLink.from_entry))
        .order_by(EntryLink.id)
    )
    related += [
        RelatedEntry(_INCOMING_LABELS[link.rel], link.from_entry)
        for link in incoming
        if can_view_entry(user, link.from_entry)
    ]
    return related


def entries_for_site(site: Site, user: Any) -> list[Entry]:
    """Entries ``user`` may read that belong to ``site`` or involve it, newest first."""
    involved = select(Entry.id).join(Entry.other_sites).where(Site.id == site.id)
    return list(
        db.session.scalars(
            select(Entry)
            .where(visible_entries(user), or_(Entry.site_id == site.id, Entry.id.in_(involved)))
            .order_by(Entry.published_on.desc(), Entry.title)
            .options(*ENTRY_LOAD_OPTIONS)
        )
    )


# --- saving -------------------------------------------------------------------------------


@dataclass
class Lookups:
    """Rows that records refer to by slug."""

    sites: dict[str, Site]
    themes: dict[str, Theme]
    entries: dict[str, Entry]


def apply_fields(entry: Entry, record: dict[str, Any], lookups: Lookups) -> None:
    """Set every field of ``entry`` from ``record`` except its links (see :func:`apply_links`).

    Child rows are replaced wholesale; the old ones are flushed away first so that a tag kept
    from one version to the next does not collide with itself on the unique constraint (a new
    entry has none, so creating one flushes nothing: import creates thousands in one flush).
    The entry's next version is claimed first (:func:`kb.services.versions.claim_version`).

    :raise LostRace: if the entry changed since it was read.
    """
    claim_version(entry)
    entry.title = record["title"]
    entry.type = EntryType(record["type"])
    entry.summary = record["summary"]
    entry.body = record.get("body", "")
    entry.site = lookups.sites[record["site"]] if record.get("site") else None
    entry.other_sites = [lookups.sites[slug] for slug in record.get("other_sites", [])]
    entry.status = EntryStatus(record.get("status", EntryStatus.PUBLISHED.value))
    entry.visibility = Visibility(record.get("visibility", Visibility.PUBLIC.value))
    entry.published_on = _date(record.get("published"))
    entry.updated_on = _date(record.get("updated"))
    entry.review_by = _date(record.get("review_by"))
    evidence = record.get("evidence")
    entry.evidence_design = EvidenceDesign(evidence["design"]) if evidence else None
    entry.evidence_strength = evidence["strength"] if evidence else None
    entry.evidence_provenance = Provenance(evidence["provenance"]) if evidence else None

    if inspect(entry).persistent:  # a new entry has no old child rows to clear
        entry.theme_tags = []
        entry.sources = []
        entry.outcomes = []
        db.session.flush()
    entry.theme_tags = [
        ThemeTag(theme=lookups.themes[tag["theme"]], polarity=Polarity(tag["polarity"]), note=tag["note"], position=i)
        for i, tag in enumerate(record["themes"])
    ]
    entry.sources = [
        Source(title=s["title"], url=s.get("url"), date=s.get("date"), position=i)
        for i, s in enumerate(record["sources"])
    ]
    entry.outcomes = [
        Outcome(
            measure=o["measure"],
            direction=OutcomeDirection(o["direction"]),
            value=o["value"],
            period=o.get("period"),
            population=o.get("population"),
            position=i,
        )
        for i, o in enumerate(evidence["outcomes"] if evidence else [])
    ]


def apply_links(entry: Entry, record: dict[str, Any], lookups: Lookups) -> None:
    """Replace ``entry``'s outgoing links with those in ``record`` (targets must exist).

    :raise LostRace: if the entry changed since it was read (see :func:`apply_fields`).
    """
    claim_version(entry)
    entry.links = []
    db.session.flush()
    entry.links = [
        EntryLink(to_entry=lookups.entries[link["entry"]], rel=LinkRel(link["rel"]), position=i)
        for i, link in enumerate(record.get("links", []))
    ]


def record_revision(entry: Entry, *, author: Any, now: datetime, summary: str, minor: bool = False,
                    submission_key: str | None = None) -> Revision:
    """Store the entry's current state as its next revision; its number becomes ``entry.version``.

    The number is the version claimed for this change (claimed here if nothing claimed it
    yet), so racing changes can never both take it.

    :raise LostRace: if the entry changed since it was read.
    """
    number = claim_version(entry)
    entry.modified_at = now
    entry.version = number
    db.session.flush()
    revision = Revision(
        entry_id=entry.id,
        number=number,
        snapshot=entry_record(entry),
        author_id=getattr(author, "id", None),
        created_at=now,
        summary=summary,
        minor=minor,
        submission_key=submission_key,
    )
    db.session.add(revision)
    return revision


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
