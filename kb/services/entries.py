"""Entries: reading them as a given user, and saving them from records.

Saving goes through :func:`apply_fields`, :func:`apply_links` and :func:`record_revision`, which
import and the editor (:mod:`kb.services.authoring`) both use, so that every save leaves a revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import joinedload, selectinload

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
from kb.services.dataversion import memo
from kb.services.permissions import can_know_of, can_view_entry, is_member, visible_entries

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
    # Each query costs more in SQLAlchemy than in the database: rows that belong to one other row
    # (the site, each tag's theme, each link's target) come joined, not in queries of their own.
    entry = db.session.scalar(
        select(Entry)
        .where(Entry.slug == slug)
        .options(
            joinedload(Entry.site),
            selectinload(Entry.other_sites),
            selectinload(Entry.theme_tags).joinedload(ThemeTag.theme),
            selectinload(Entry.sources),
            selectinload(Entry.outcomes),
            selectinload(Entry.links).joinedload(EntryLink.to_entry),
        )
    )
    if entry is None or not can_know_of(user, entry):
        raise NotFound("There is no entry at this address, or it is not published.")
    return entry


# The order of every listing: newest first, then by title (ix_entry_listing holds both); the id
# settles ties, so that pages of a listing never overlap.
LISTING_ORDER = (Entry.published_on.desc(), Entry.title, Entry.id)


def listing_scope(user: Any) -> str:
    """Which readers see the same entries in listings and counts: ``"members"`` or ``"public"``.

    Listings show published entries only (:func:`visible_entries`), and which of those a reader
    may read depends on nothing but whether they are a network member; work in progress is never
    counted, even for the people working on it. Counts and id lists are memoised per data
    version under this scope (:func:`kb.services.dataversion.memo`); if reading rules ever depend
    on more than membership, this must say so.
    """
    return "members" if is_member(user) else "public"


@dataclass(frozen=True)
class SiteRef:
    """A site as a listing names it."""

    slug: str
    name: str


@dataclass(frozen=True)
class EntryCard:
    """What a listing shows of an entry (the ``entry_card`` macro): plain values, read in one
    query with no ORM objects, so that they are cheap to load and safe to memoise and share."""

    slug: str
    type: EntryType
    visibility: Visibility
    title: str
    summary: str
    published_on: date | None
    site: SiteRef | None
    evidence_strength: int | None = None  # evidence only: 1–5, and where its figures come from
    evidence_provenance: Provenance | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> EntryCard:
        """A card from the last ``len(CARD_COLUMNS)`` values of a row that selected them."""
        (slug, entry_type, visibility, title, summary, published_on, site_slug, site_name, strength,
         provenance) = row[-len(CARD_COLUMNS):]
        site = SiteRef(site_slug, site_name) if site_slug is not None else None
        return cls(slug, entry_type, visibility, title, summary, published_on, site, strength, provenance)


CARD_COLUMNS = (Entry.slug, Entry.type, Entry.visibility, Entry.title, Entry.summary, Entry.published_on,
                Site.slug, Site.name, Entry.evidence_strength, Entry.evidence_provenance)


def card_query(page: Select, *columns: Any) -> Select:
    """``SELECT columns…, CARD_COLUMNS`` of the entries whose ids ``page`` selects (a query of
    ``Entry.id`` with its order, limit and offset), in :data:`LISTING_ORDER`.

    Choosing the page's ids first lets that query run on the covering indexes alone; only the
    page's own rows are then read (on SQLite, reading an entry's row means reading past its body,
    so a query that filtered or sorted on row columns would read every row it passed over).
    """
    return (select(*columns, *CARD_COLUMNS).select_from(Entry).outerjoin(Site, Entry.site_id == Site.id)
            .where(Entry.id.in_(page.scalar_subquery())).order_by(*LISTING_ORDER))


def latest_entries(user: Any, limit: int = 6) -> list[EntryCard]:
    """The most recently published entries ``user`` may read, newest first (memoised per data
    version and reader scope; the query walks ix_entry_listing)."""
    page = select(Entry.id).where(visible_entries(user)).order_by(*LISTING_ORDER).limit(limit)
    return list(memo(("latest", listing_scope(user), limit), lambda: tuple(
        EntryCard.from_row(row) for row in db.session.execute(card_query(page)))))


def count_visible(user: Any) -> dict[str, int]:
    """How many entries of each type ``user`` may read (memoised per data version and scope)."""

    def count() -> tuple[tuple[str, int], ...]:
        rows = db.session.execute(
            select(Entry.type, func.count(Entry.id)).where(visible_entries(user)).group_by(Entry.type)
        )
        counts = {entry_type.value: 0 for entry_type in EntryType}
        counts.update({entry_type.value: n for entry_type, n in rows})
        return tuple(counts.items())

    return dict(memo(("types", listing_scope(user)), count))


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
        .options(joinedload(EntryLink.from_entry))
        .order_by(EntryLink.id)
    )
    related += [
        RelatedEntry(_INCOMING_LABELS[link.rel], link.from_entry)
        for link in incoming
        if can_view_entry(user, link.from_entry)
    ]
    return related


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
    apply_own_fields(entry, record, lookups)
    entry.other_sites = other_sites_of(record, lookups)
    if inspect(entry).persistent:  # a new entry has no old child rows to clear
        entry.theme_tags = []
        entry.sources = []
        entry.outcomes = []
        db.session.flush()
    children = child_rows(record, lookups)
    entry.theme_tags = [ThemeTag(**values) for values in children[ThemeTag]]
    entry.sources = [Source(**values) for values in children[Source]]
    entry.outcomes = [Outcome(**values) for values in children[Outcome]]


def apply_own_fields(entry: Entry, record: dict[str, Any], lookups: Lookups) -> None:
    """Set the columns of ``entry``'s own row (its site included) from ``record``; nothing else."""
    for name, value in own_fields(record, lookups).items():
        setattr(entry, name, value)


def own_fields(record: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """The attributes of an entry's own row that ``record`` sets, by name (``site`` is the
    :class:`Site` itself): what :func:`apply_own_fields` sets, for callers inserting rows in bulk."""
    evidence = record.get("evidence")
    return {
        "title": record["title"],
        "type": EntryType(record["type"]),
        "summary": record["summary"],
        "body": record.get("body", ""),
        "site": lookups.sites[record["site"]] if record.get("site") else None,
        "status": EntryStatus(record.get("status", EntryStatus.PUBLISHED.value)),
        "visibility": Visibility(record.get("visibility", Visibility.PUBLIC.value)),
        "published_on": _date(record.get("published")),
        "updated_on": _date(record.get("updated")),
        "review_by": _date(record.get("review_by")),
        "reviewed_on": _date(record.get("reviewed")),
        "evidence_design": EvidenceDesign(evidence["design"]) if evidence else None,
        "evidence_strength": evidence["strength"] if evidence else None,
        "evidence_strength_reason": evidence.get("strength_reason") if evidence else None,
        "evidence_provenance": Provenance(evidence["provenance"]) if evidence else None,
    }


def other_sites_of(record: dict[str, Any], lookups: Lookups) -> list[Site]:
    """The other sites ``record`` names, in its order."""
    return [lookups.sites[slug] for slug in record.get("other_sites", [])]


def child_rows(record: dict[str, Any], lookups: Lookups) -> dict[type, list[dict[str, Any]]]:
    """The theme tags, sources and outcomes of ``record`` as each model's keyword arguments, in
    order (a tag's ``theme`` is the :class:`Theme` itself); without the entry, which the caller adds."""
    evidence = record.get("evidence")
    return {
        ThemeTag: [
            {"theme": lookups.themes[tag["theme"]], "polarity": Polarity(tag["polarity"]), "note": tag["note"],
             "position": i}
            for i, tag in enumerate(record["themes"])
        ],
        Source: [
            {"title": s["title"], "url": s.get("url"), "date": s.get("date"), "position": i}
            for i, s in enumerate(record["sources"])
        ],
        Outcome: [
            {"measure": o["measure"], "direction": OutcomeDirection(o["direction"]), "value": o["value"],
             "period": o.get("period"), "population": o.get("population"), "position": i}
            for i, o in enumerate(evidence["outcomes"] if evidence else [])
        ],
    }


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
