"""An entry's history: its revisions, one revision read-only, and comparisons of any two.

A comparison shows prose (title, summary, body) as a word-level diff (:mod:`kb.services.diffing`)
and metadata field by field: each changed field is a :class:`FieldChange` with a human label and
its value before and after as readable lines (enum values as their labels, theme tags as
"Pooled budgets — enabler: note"); unchanged fields are left out. Those functions
(:func:`field_changes`, :func:`describe`) are pure, given the :class:`Names` of what records refer to.

For the people who work on the entry (:func:`~kb.services.permissions.can_work_on`: its site's
editors and leads, and admins); for everyone else another site's draft is a 404 and a published
entry's history a 403, as :func:`~kb.services.authoring.entry_for` decides. Restoring a revision
is :func:`kb.services.authoring.restore_revision`. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from kb.extensions import db
from kb.models import (
    BCF_MEASURES,
    Entry,
    EntryStatus,
    EntryType,
    EvidenceDesign,
    LinkRel,
    OutcomeDirection,
    Polarity,
    Provenance,
    Revision,
    Site,
    Theme,
    Visibility,
)
from kb.services.authoring import entry_for
from kb.services.diffing import Segment, has_changes, with_context, word_diff
from kb.services.errors import NotAllowed, NotFound
from kb.services.permissions import can_know_of, can_work_on

# --- the field table: pure functions ----------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a field's value; ``changed`` if the other version has no such line."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class FieldChange:
    """A field that differs between two records, with its value before and after as lines."""

    name: str
    label: str
    before: list[Line]
    after: list[Line]


@dataclass
class Names:
    """Display names for the slugs a record refers to; an unknown slug is shown as itself."""

    sites: dict[str, str] = field(default_factory=dict)
    themes: dict[str, str] = field(default_factory=dict)
    entries: dict[str, str] = field(default_factory=dict)


# The fields compared word by word, as (name, label).
PROSE_FIELDS = (("title", "Title"), ("summary", "Summary"), ("body", "Body"))

# How to show a field's value as lines of text.
Describe = Callable[[Any, Names], list[str]]


def _label(enum_cls: type[Enum], value: Any) -> str:
    try:
        return enum_cls(value).label  # type: ignore[attr-defined]
    except ValueError:
        return str(value)  # a value from an older version of the format: show it as stored


def _enum(enum_cls: type[Enum]) -> Describe:
    return lambda value, names: [_label(enum_cls, value)] if value not in (None, "") else []


def _date(value: Any, names: Names) -> list[str]:
    if not value:
        return []
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return [str(value)]
    return [f"{day.day} {day:%B %Y}"]


def _site(value: Any, names: Names) -> list[str]:
    return [names.sites.get(value, value)] if value else ["Network-wide"]


def _sites(value: Any, names: Names) -> list[str]:
    return [names.sites.get(slug, slug) for slug in value or []]


def _themes(value: Any, names: Names) -> list[str]:
    return [
        f"{names.themes.get(tag.get('theme'), tag.get('theme'))} — "
        f"{_label(Polarity, tag.get('polarity')).lower()}: {tag.get('note', '')}"
        for tag in value or []
    ]


def _sources(value: Any, names: Names) -> list[str]:
    lines = []
    for source in value or []:
        text = str(source.get("title", ""))
        if source.get("date"):
            text += f" ({source['date']})"
        if source.get("url"):
            text += f" — {source['url']}"
        lines.append(text)
    return lines


def _links(value: Any, names: Names) -> list[str]:
    return [
        f"{_label(LinkRel, link.get('rel'))}: {names.entries.get(link.get('entry'), link.get('entry'))}"
        for link in value or []
    ]


def _strength(value: Any, names: Names) -> list[str]:
    return [f"{value} out of 5"] if value not in (None, "") else []


def _outcomes(value: Any, names: Names) -> list[str]:
    lines = []
    for outcome in value or []:
        measure = outcome.get("measure", "")
        text = f"{BCF_MEASURES.get(measure, measure)}: {_label(OutcomeDirection, outcome.get('direction'))}"
        text += f", {outcome.get('value', '')}"
        detail = "; ".join(str(outcome[key]) for key in ("period", "population") if outcome.get(key))
        lines.append(f"{text} ({detail})" if detail else text)
    return lines


def _plain(value: Any, names: Names) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


METADATA: tuple[tuple[str, str, Describe], ...] = (
    ("type", "Type", _enum(EntryType)),
    ("site", "Site", _site),
    ("other_sites", "Other sites involved", _sites),
    ("status", "Status", _enum(EntryStatus)),
    ("visibility", "Visibility", _enum(Visibility)),
    ("published", "Date of the work or source", _date),
    ("updated", "Content last updated", _date),
    ("review_by", "Next review due", _date),
    ("reviewed", "Last reviewed", _date),
    ("themes", "Enablers and barriers", _themes),
    ("sources", "Sources", _sources),
    ("links", "Links to other entries", _links),
    ("evidence.design", "Study design", _enum(EvidenceDesign)),
    ("evidence.strength", "Strength of evidence", _strength),
    ("evidence.strength_reason", "Why this strength", lambda value, names: [str(value)] if value else []),
    ("evidence.provenance", "Provenance", _enum(Provenance)),
    ("evidence.outcomes", "Outcomes", _outcomes),
)
_KNOWN = {name for name, _, _ in METADATA} | {name for name, _ in PROSE_FIELDS} | {"evidence"}


def _get(record: dict[str, Any], name: str) -> Any:
    if name.startswith("evidence."):
        return (record.get("evidence") or {}).get(name.removeprefix("evidence."))
    return record.get(name)


def describe(record: dict[str, Any], names: Names) -> list[tuple[str, str, list[str]]]:
    """Every metadata field of ``record`` as ``(name, label, lines)``, for showing a revision.

    Fields without a value have no lines, except ``site`` (``Network-wide``); the evidence
    fields are left out of records without evidence.
    """
    rows = [(name, label, how(_get(record, name), names)) for name, label, how in METADATA
            if record.get("evidence") or not name.startswith("evidence.")]
    rows += [(key, _human(key), _plain(record[key], names)) for key in record if key not in _KNOWN]
    return rows


def field_changes(old: dict[str, Any], new: dict[str, Any], names: Names) -> list[FieldChange]:
    """The metadata fields that differ between records ``old`` and ``new``, in display order.

    A changed field lists every line of both values, marking ``changed`` the lines only one
    side has. Keys this module does not know (from a newer format) are compared too and shown
    as plain text.
    """
    changes = []
    extra = [key for key in {**old, **new} if key not in _KNOWN]
    fields = [*METADATA, *((key, _human(key), _plain) for key in extra)]
    for name, label, how in fields:
        before_value, after_value = _get(old, name), _get(new, name)
        if _normal(before_value) == _normal(after_value):
            continue
        before, after = how(before_value, names), how(after_value, names)
        changes.append(FieldChange(name, label, _mark(before, after), _mark(after, before)))
    return changes


def _normal(value: Any) -> Any:
    return None if value in (None, "", [], {}) else value


def _mark(lines: list[str], other: list[str]) -> list[Line]:
    """``lines`` with those not in ``other`` marked, counting repeats (a list may hold twins)."""
    remaining: dict[str, int] = {}
    for line in other:
        remaining[line] = remaining.get(line, 0) + 1
    marked = []
    for line in lines:
        if remaining.get(line, 0) > 0:
            remaining[line] -= 1
            marked.append(Line(line))
        else:
            marked.append(Line(line, changed=True))
    return marked


def _human(key: str) -> str:
    return key.replace("_", " ").capitalize()


# --- use cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProseChange:
    """A prose field that differs, as a word-level diff (long bodies with context only)."""

    name: str
    label: str
    segments: list[Segment]


@dataclass
class Comparison:
    """Two revisions of ``entry`` compared; ``old.number <= new.number``.

    ``fields`` lists changed metadata, ``prose`` changed prose fields; both empty: no changes.
    ``previous`` and ``following`` are the ``(from, to)`` numbers of the comparisons one step
    back and one step on, or None at either end of the history.
    """

    entry: Entry
    old: Revision
    new: Revision
    fields: list[FieldChange]
    prose: list[ProseChange]
    previous: tuple[int, int] | None
    following: tuple[int, int] | None

    @property
    def unchanged(self) -> bool:
        return not self.fields and not self.prose


@dataclass
class ShownRevision:
    """One revision to show read-only: its metadata as ``(name, label, lines)`` rows."""

    entry: Entry
    revision: Revision
    metadata: list[tuple[str, str, list[str]]]
    previous: int | None
    following: int | None

    @property
    def latest(self) -> bool:
        return self.revision.number == self.entry.version


def history(user: Any, slug: str) -> tuple[Entry, list[Revision]]:
    """The entry ``slug`` and its revisions, newest first, with their authors loaded.

    :raise NotFound: if there is no such entry, or ``user`` may not know it exists.
    :raise NotAllowed: if ``user`` may read the entry but does not work on it.
    """
    entry = _entry(user, slug)
    revisions = db.session.scalars(
        select(Revision)
        .where(Revision.entry_id == entry.id)
        .order_by(Revision.number.desc())
        .options(selectinload(Revision.author), defer(Revision.snapshot))
    )
    return entry, list(revisions)


def revision(user: Any, slug: str, number: int) -> ShownRevision:
    """Revision ``number`` of the entry ``slug``, to show read-only.

    :raise NotFound: for a revision the entry does not have; otherwise as :func:`history`.
    """
    entry = _entry(user, slug)
    found = _revisions(entry, [number])[number]
    numbers = _numbers(entry)
    return ShownRevision(
        entry=entry,
        revision=found,
        metadata=describe(found.snapshot, names_for(user, found.snapshot)),
        previous=_before(numbers, number),
        following=_after(numbers, number),
    )


def compare(user: Any, slug: str, old_number: int | None, new_number: int | None) -> Comparison:
    """Compare two revisions of the entry ``slug``, in whichever order the numbers come.

    ``new_number`` None means the latest revision; ``old_number`` None, the one before the
    other (so a first revision is compared with itself: no changes).

    :raise NotFound: for a revision the entry does not have; otherwise as :func:`history`.
    """
    entry = _entry(user, slug)
    numbers = _numbers(entry)
    if new_number is None:
        new_number = numbers[-1] if numbers else entry.version
    if old_number is None:
        old_number = _before(numbers, new_number) or new_number
    old_number, new_number = sorted((old_number, new_number))
    found = _revisions(entry, [old_number, new_number])
    old, new = found[old_number], found[new_number]
    before, after = _before(numbers, old_number), _after(numbers, new_number)
    return Comparison(
        entry=entry,
        old=old,
        new=new,
        fields=field_changes(old.snapshot, new.snapshot, names_for(user, old.snapshot, new.snapshot)),
        prose=_prose_changes(old.snapshot, new.snapshot),
        previous=(before, old_number) if before is not None else None,
        following=(new_number, after) if after is not None else None,
    )


def _entry(user: Any, slug: str) -> Entry:
    """The entry ``slug``, if ``user`` works on it.

    :raise NotFound: if there is none, or ``user`` may not know it exists.
    :raise NotAllowed: if ``user`` may read it but does not work on it.
    """
    entry = entry_for(user, slug, allowed=lambda _user, _entry: True)  # its 404 rule, our 403 message
    if not can_work_on(user, entry):
        raise NotAllowed("Only editors and leads of the entry's site can see its history.")
    return entry


def _prose_changes(old: dict[str, Any], new: dict[str, Any]) -> list[ProseChange]:
    changes = []
    for name, label in PROSE_FIELDS:
        segments = word_diff(str(old.get(name) or ""), str(new.get(name) or ""))
        if has_changes(segments):
            # A long body is shown around its changes only; title and summary are short.
            changes.append(ProseChange(name, label, with_context(segments) if name == "body" else segments))
    return changes


def _revisions(entry: Entry, numbers: list[int]) -> dict[int, Revision]:
    """Revisions ``numbers`` of ``entry`` by number, authors loaded.

    :raise NotFound: naming the first number the entry has no revision for.
    """
    found = {
        r.number: r
        for r in db.session.scalars(
            select(Revision)
            .where(Revision.entry_id == entry.id, Revision.number.in_(set(numbers)))
            .options(selectinload(Revision.author))
        )
    }
    for number in numbers:
        if number not in found:
            raise NotFound(f"This entry has no revision {number}. Its latest revision is {entry.version}.")
    return found


def _numbers(entry: Entry) -> list[int]:
    """``entry``'s revision numbers, in order (gaps are possible, if ever a revision is deleted)."""
    return list(db.session.scalars(
        select(Revision.number).where(Revision.entry_id == entry.id).order_by(Revision.number)))


def _before(numbers: list[int], number: int) -> int | None:
    earlier = [n for n in numbers if n < number]
    return earlier[-1] if earlier else None


def _after(numbers: list[int], number: int) -> int | None:
    later = [n for n in numbers if n > number]
    return later[0] if later else None


def names_for(user: Any, *records: dict[str, Any]) -> Names:
    """Names of the sites, themes and linked entries ``records`` refer to.

    A linked entry's title is only used if ``user`` may know of that entry (it may have gone
    back to draft at another site since); otherwise its slug, which the record holds anyway.
    """
    site_slugs = {slug for r in records for slug in [r.get("site"), *(r.get("other_sites") or [])] if slug}
    theme_slugs = {tag.get("theme") for r in records for tag in r.get("themes") or []}
    entry_slugs = {link.get("entry") for r in records for link in r.get("links") or []}
    names = Names()
    if site_slugs:
        names.sites = dict(db.session.execute(select(Site.slug, Site.name).where(Site.slug.in_(site_slugs))).all())
    if theme_slugs:
        names.themes = dict(db.session.execute(
            select(Theme.slug, Theme.name).where(Theme.slug.in_(theme_slugs))).all())
    if entry_slugs:
        names.entries = {
            target.slug: target.title
            for target in db.session.scalars(select(Entry).where(Entry.slug.in_(entry_slugs)))
            if can_know_of(user, target)
        }
    return names
