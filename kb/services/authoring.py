"""Authoring entries: creating, editing (with three-way merges), and restoring revisions.

Every function takes the acting ``user`` and ``now``, checks its permission in
:mod:`kb.services.permissions` first, and commits. Entries are saved from *records* (the shape
of a content file, :mod:`kb.services.records`), validated by the same rules as ``content/``
files, so the editor and import can never disagree about what a valid entry is.

No save loses words: the form carries the version it was based on. If someone else saved in
between, the two edits are merged against that version (:mod:`kb.services.merging`); a clean
merge is saved (and says so), a clash raises :class:`EditConflict` carrying both texts. A form
posted twice (same ``submission_key``) makes one revision. Saves racing each other are safe:
each claims the entry's next version atomically before writing (:mod:`kb.services.versions`),
and the losers start again — merging with the winner — instead of overwriting it.

Workflow steps (submit, publish, archive, return to draft) live in :mod:`kb.services.workflow`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from kb import textcheck
from kb.extensions import db
from kb.models import Entry, EntryStatus, Revision, Site, Theme
from kb.services import entries as entry_service
from kb.services.content_io.schema import RESERVED_ENTRY_SLUGS, SLUG_PATTERN, EntryRecord, Problem, validate
from kb.services.errors import BadRequest, Invalid, NotAllowed, NotFound, ServiceError
from kb.services.merging import FieldConflict, merge_records
from kb.services.permissions import can_create_entry, can_edit, can_know_of, can_work_on
from kb.services.records import entry_from_validated, entry_record
from kb.services.versions import lock_entry, retrying

# Set by the workflow, never by the editor form: a save keeps the entry's current values.
WORKFLOW_FIELDS = ("status", "updated", "reviewed")
MAX_SUMMARY = 300


class InvalidEntry(Invalid):
    """The submitted entry breaks the rules (see :class:`Invalid`)."""

    subject = "The entry"


class EditConflict(ServiceError):
    """Someone else saved the entry since the form was opened, and the edits clash.

    ``mine`` is the user's record, ``theirs`` the entry as it is now (at ``version``); both are
    complete, so nothing typed on either side is lost. ``conflicts`` lists the clashing fields.
    """

    status = 409

    def __init__(self, entry: Entry, mine: dict[str, Any], theirs: dict[str, Any],
                 conflicts: list[FieldConflict], merged: dict[str, Any]):
        names = ", ".join(c.name for c in conflicts)
        super().__init__(f"Someone else changed this entry while you were editing it ({names}).")
        self.entry = entry
        self.version = entry.version
        self.mine = mine
        self.theirs = theirs
        self.conflicts = conflicts
        self.merged = merged


@dataclass
class SaveOutcome:
    """What a save did. ``revision`` is None when nothing changed."""

    entry: Entry
    revision: Revision | None
    merged_fields: list[str] = field(default_factory=list)
    duplicate: bool = False

    @property
    def unchanged(self) -> bool:
        return self.revision is None


# --- reading what the editor needs ------------------------------------------------------------


def entry_for(user: Any, slug: str, allowed=can_work_on) -> Entry:  # noqa: ANN001 - a permission
    """The entry ``slug``, if ``allowed(user, entry)``.

    :raise NotFound: if there is none, or ``user`` may not know it exists (another site's draft).
    :raise NotAllowed: if ``user`` may know of it but not do this.
    """
    entry = db.session.scalar(select(Entry).where(Entry.slug == slug))
    if entry is None or not can_know_of(user, entry):
        raise NotFound("There is no entry at this address, or it is not published.")
    if not allowed(user, entry):
        raise NotAllowed(_refusal(entry))
    return entry


def _refusal(entry: Entry) -> str:
    if entry.status in (EntryStatus.PUBLISHED, EntryStatus.ARCHIVED):
        return "Only a lead of the entry's site can change a published or archived entry."
    return "Only editors and leads of the entry's site can change it."


def editable_record(user: Any, slug: str) -> tuple[Entry, dict[str, Any]]:
    """The entry and its record, for the edit form. Same errors as :func:`entry_for`."""
    entry = entry_for(user, slug, can_edit)
    return entry, entry_record(entry)


def slug_for(title: str) -> str:
    """A free slug made from ``title`` (``a-title``, then ``a-title-2``, …)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    base = _cut(re.sub(r"[^a-z0-9]+", "-", text).strip("-"), 70) or "entry"
    taken = set(db.session.scalars(select(Entry.slug).where(Entry.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken or slug in RESERVED_ENTRY_SLUGS:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _cut(slug: str, limit: int) -> str:
    """``slug`` shortened to at most ``limit`` characters at a word boundary (a hyphen); a
    single word longer than that is cut where it must be."""
    if len(slug) <= limit:
        return slug
    head = slug[:limit + 1]
    return (head[:head.rindex("-")] if "-" in head else slug[:limit]).strip("-")


# --- validating -------------------------------------------------------------------------------


def _clean(user: Any, record: dict[str, Any], *, slug: str) -> dict[str, Any]:
    """Validate ``record`` as a content file would be, plus what the user may refer to.

    :raise InvalidEntry: listing every problem.
    """
    front = {key: value for key, value in record.items() if key != "body"}
    body = record.get("body") or ""
    if not isinstance(body, str):
        raise InvalidEntry([Problem(("body",), "body: must be text")])
    if problem := textcheck.problem(body, multiline=True):  # the one rule, as for files and forms
        raise InvalidEntry([Problem(("body",), f"body: {problem}")])
    model, problems = validate(EntryRecord, front)
    if model is None:
        raise InvalidEntry(problems)
    clean = entry_from_validated(model, body.replace("\r\n", "\n"))
    problems += _reference_problems(user, clean, slug)
    if problems:
        raise InvalidEntry(problems)
    return clean


def _reference_problems(user: Any, record: dict[str, Any], slug: str) -> list[Problem]:
    problems = []
    sites = {s.slug: s for s in db.session.scalars(
        select(Site).where(Site.slug.in_([record.get("site"), *record.get("other_sites", [])])))}
    if not record.get("site"):
        problems.append(Problem(("site",), "site: choose the site the entry belongs to"))
    elif record["site"] not in sites:
        problems.append(Problem(("site",), f"site: there is no site {record['site']!r}"))
    for i, other in enumerate(record.get("other_sites", [])):
        if other not in sites:
            problems.append(Problem(("other_sites", i), f"other_sites.{i}: there is no site {other!r}"))
    wanted = [tag["theme"] for tag in record["themes"]]
    themes = set(db.session.scalars(select(Theme.slug).where(Theme.slug.in_(wanted))))
    for i, theme in enumerate(wanted):
        if theme not in themes:
            problems.append(Problem(("themes", i, "theme"), f"themes.{i}.theme: there is no theme {theme!r}"))
    targets = {e.slug: e for e in db.session.scalars(
        select(Entry).where(Entry.slug.in_([link["entry"] for link in record.get("links", [])])))}
    for i, link in enumerate(record.get("links", [])):
        target = targets.get(link["entry"])
        if link["entry"] == slug:
            problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: an entry cannot link to itself"))
        elif target is None or not can_know_of(user, target):
            problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: there is no entry {link['entry']!r}"))
    return problems


def _lookups(record: dict[str, Any]) -> entry_service.Lookups:
    """Only the rows ``record`` refers to (building maps of every entry would not scale)."""
    site_slugs = [record.get("site"), *record.get("other_sites", [])]
    return entry_service.Lookups(
        sites={s.slug: s for s in db.session.scalars(select(Site).where(Site.slug.in_(site_slugs)))},
        themes={t.slug: t for t in db.session.scalars(
            select(Theme).where(Theme.slug.in_([tag["theme"] for tag in record["themes"]])))},
        entries={e.slug: e for e in db.session.scalars(
            select(Entry).where(Entry.slug.in_([link["entry"] for link in record.get("links", [])])))},
    )


def _check_summary(summary: str) -> str:
    if problem := textcheck.problem(summary or ""):
        raise InvalidEntry([Problem(("edit_summary",), f"edit_summary: {problem}")])
    summary = " ".join((summary or "").split())
    if len(summary) > MAX_SUMMARY:
        raise InvalidEntry([Problem(("edit_summary",), f"edit_summary: must be {MAX_SUMMARY} characters or fewer")])
    return summary


def _check_key(key: str | None) -> str | None:
    if key is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", key):
        raise BadRequest("The form was damaged in transit. Reload the page and try again.")
    return key


# --- saving -----------------------------------------------------------------------------------


def create_entry(user: Any, record: dict[str, Any], *, slug: str | None, summary: str, minor: bool,
                 now: datetime, submission_key: str | None = None) -> SaveOutcome:
    """Create a draft entry for ``record['site']`` as its first revision.

    The same form posted more than once (same ``submission_key``), even at the same moment,
    creates one entry; the other posts return it with ``duplicate`` set.

    :raise NotAllowed: unless ``user`` is an editor or lead of that site (or an admin).
    :raise InvalidEntry: for a record that breaks the rules, or a slug that is taken.
    """
    key = _check_key(submission_key)
    summary = _check_summary(summary)
    return retrying(lambda: _create_once(user, record, slug=slug, summary=summary, minor=minor, now=now, key=key),
                    what="new entry")


def _create_once(user: Any, record: dict[str, Any], *, slug: str | None, summary: str, minor: bool,
                 now: datetime, key: str | None) -> SaveOutcome:
    site = db.session.scalar(select(Site).where(Site.slug == record.get("site"))) if record.get("site") else None
    if site is not None and not can_create_entry(user, site):
        raise NotAllowed("You can only create entries for sites you are an editor or lead of.")
    if key is not None:
        # One read decides both cases: two reads could straddle another post's commit (SQLite
        # reads outside a write are each their own snapshot) and take this form's own entry
        # for someone else's.
        holder = db.session.scalar(select(Entry).where(Entry.creation_key == key))
        if holder is not None:
            if (earlier := _earlier_outcome(user, holder)) is not None:
                return earlier
            key = None  # the key of someone else's form: never tie this post to their entry
    slug = slug or slug_for(str(record.get("title") or ""))
    if not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
        raise InvalidEntry([Problem(("slug",), "slug: must be lowercase letters, digits and single hyphens")])
    if slug in RESERVED_ENTRY_SLUGS:
        raise InvalidEntry([Problem(("slug",), f"slug: {slug!r} is reserved for the site's own pages")])
    if db.session.scalar(select(Entry.id).where(Entry.slug == slug)) is not None:
        # Taken since we looked for this form's entry, perhaps by another post of this form.
        if key is not None and (earlier := _created_with(user, key)) is not None:
            return earlier
        raise InvalidEntry([Problem(("slug",), f"slug: {slug!r} is already used by another entry")])
    # A new entry is a draft, never reviewed; its date of the work is the editor's to give.
    clean = _clean(user, {**record, "status": EntryStatus.DRAFT.value, "updated": None, "reviewed": None},
                   slug=slug)
    if site is None:  # _clean reported a missing or unknown site already; this is belt and braces
        raise NotAllowed("You can only create entries for sites you are an editor or lead of.")
    lookups = _lookups(clean)
    entry = Entry(slug=slug, version=0, created_at=now, creation_key=key)
    db.session.add(entry)
    entry_service.apply_fields(entry, clean, lookups)
    entry_service.apply_links(entry, clean, lookups)
    revision = entry_service.record_revision(
        entry, author=user, now=now, summary=summary or "Created", minor=minor, submission_key=key)
    db.session.commit()
    return SaveOutcome(entry, revision)


def _created_with(user: Any, key: str) -> SaveOutcome | None:
    """The entry an earlier post of the new-entry form with ``key`` created, if ``user`` may work on it."""
    entry = db.session.scalar(select(Entry).where(Entry.creation_key == key))
    return None if entry is None else _earlier_outcome(user, entry)


def _earlier_outcome(user: Any, entry: Entry) -> SaveOutcome | None:
    """``entry`` (created by a post of the form ``user`` is posting again) as a duplicate outcome,
    or None if ``user`` may not work on it (then it was someone else's form)."""
    if not can_work_on(user, entry):
        return None
    first = db.session.scalar(select(Revision).where(Revision.entry_id == entry.id, Revision.number == 1))
    return SaveOutcome(entry, first, duplicate=True)


def save_entry(user: Any, slug: str, record: dict[str, Any], *, base_version: int, summary: str,
               minor: bool, now: datetime, submission_key: str | None = None) -> SaveOutcome:
    """Save the editor's ``record`` over the entry, which the form loaded at ``base_version``.

    The entry's workflow fields (status, dates) are kept; everything else comes from ``record``.
    If the entry changed since ``base_version``, both edits are merged (``merged_fields`` says
    which fields needed it). Nothing changed: no revision.

    :raise NotFound / NotAllowed: see :func:`entry_for` with :func:`can_edit`.
    :raise InvalidEntry: for a record that breaks the rules.
    :raise EditConflict: if the edits clash; nothing is saved.
    :raise BadRequest: for a version the entry never had.
    :raise Busy: if other saves of the entry kept winning the race (nothing is saved).
    """
    key = _check_key(submission_key)
    summary = _check_summary(summary)
    return retrying(lambda: _save_once(user, slug, record, base_version=base_version, summary=summary,
                                       minor=minor, now=now, key=key),
                    what="changes", lock=lambda: lock_entry(slug))


def _save_once(user: Any, slug: str, record: dict[str, Any], *, base_version: int, summary: str,
               minor: bool, now: datetime, key: str | None) -> SaveOutcome:
    entry = entry_for(user, slug, can_edit)
    if key is not None:
        earlier = db.session.scalar(
            select(Revision).where(Revision.entry_id == entry.id, Revision.submission_key == key))
        if earlier is not None:
            return SaveOutcome(entry, earlier, duplicate=True)
    if not isinstance(base_version, int) or not 1 <= base_version <= entry.version:
        raise BadRequest("The form refers to a version of this entry that does not exist. Reload the editor.")
    current = entry_record(entry)
    workflow = {name: current.get(name) for name in WORKFLOW_FIELDS}
    mine = _clean(user, {**record, **workflow}, slug=slug)
    merged_fields: list[str] = []
    if base_version != entry.version:
        base = db.session.scalar(
            select(Revision.snapshot).where(Revision.entry_id == entry.id, Revision.number == base_version))
        if base is None:
            raise BadRequest("The version this form was based on is no longer stored. Reload the editor.")
        result = merge_records({**base, **workflow}, mine, current)
        if not result.clean:
            raise EditConflict(entry, mine, current, result.conflicts, result.record)
        mine, merged_fields = result.record, result.merged_fields
    site_slug = mine.get("site")
    if site_slug != current.get("site") and not can_create_entry(user, _site(site_slug)):
        raise NotAllowed("You can only move an entry to a site you are an editor or lead of.")
    if mine == current:
        return SaveOutcome(entry, None, merged_fields)
    lookups = _lookups(mine)
    entry_service.apply_fields(entry, mine, lookups)
    entry_service.apply_links(entry, mine, lookups)
    revision = entry_service.record_revision(
        entry, author=user, now=now, summary=summary, minor=minor, submission_key=key)
    db.session.commit()
    return SaveOutcome(entry, revision, merged_fields)


def _site(slug: str | None) -> Site | None:
    return db.session.scalar(select(Site).where(Site.slug == slug)) if slug else None


def restore_revision(user: Any, slug: str, number: int, *, now: datetime) -> SaveOutcome:
    """Make revision ``number``'s content the entry's latest revision (its status stays as it is).

    :raise NotFound: for an entry or revision ``user`` may not know of.
    :raise NotAllowed: unless ``user`` may edit the entry.
    :raise InvalidEntry: if the old revision refers to something that no longer exists.
    """
    return retrying(lambda: _restore_once(user, slug, number, now=now), what="restore",
                    lock=lambda: lock_entry(slug))


def _restore_once(user: Any, slug: str, number: int, *, now: datetime) -> SaveOutcome:
    entry = entry_for(user, slug, can_edit)
    snapshot = db.session.scalar(
        select(Revision.snapshot).where(Revision.entry_id == entry.id, Revision.number == number))
    if snapshot is None:
        raise NotFound(f"This entry has no revision {number}.")
    current = entry_record(entry)
    workflow = {name: current.get(name) for name in WORKFLOW_FIELDS}
    # A revision from before the entry was first published has no date of the work: the one the
    # entry has now stays (a published entry needs one).
    dated = {"published": snapshot.get("published") or current.get("published")}
    record = _clean(user, {**snapshot, **workflow, **dated}, slug=slug)
    if record == current:
        return SaveOutcome(entry, None)
    lookups = _lookups(record)
    entry_service.apply_fields(entry, record, lookups)
    entry_service.apply_links(entry, record, lookups)
    revision = entry_service.record_revision(entry, author=user, now=now, summary=f"Restored revision {number}")
    db.session.commit()
    return SaveOutcome(entry, revision)


def revision_count(entry: Entry) -> int:
    """How many revisions ``entry`` has."""
    return db.session.scalar(select(func.count(Revision.id)).where(Revision.entry_id == entry.id)) or 0
