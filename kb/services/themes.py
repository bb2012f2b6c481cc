"""Themes: the index by group with enabler/barrier counts, one theme's two sides, and saving them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Mapping

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import Entry, EntryType, Polarity, Theme, ThemeTag
from kb.services import audit
from kb.services.browse import Page, page_offset
from kb.services.content_io.schema import Problem, ThemeRecord, validate
from kb.services.dataversion import memo
from kb.services.entries import LISTING_ORDER, EntryCard, card_query, listing_scope
from kb.services.errors import Invalid, NotFound
from kb.services.permissions import require_admin, visible_entries
from kb.services.records import theme_record


@dataclass(frozen=True)
class ThemeRef:
    """A theme as the theme lists show it (plain values, safe to memoise and share)."""

    slug: str
    name: str
    definition: str


@dataclass(frozen=True)
class ThemeCount:
    """A theme with how many readable entries tag it as an enabler and as a barrier."""

    theme: ThemeRef
    enablers: int
    barriers: int


@dataclass(frozen=True)
class ThemeGroup:
    name: str
    themes: tuple[ThemeCount, ...]


def tag_counts(user: Any) -> Mapping[tuple[int, Polarity], int]:
    """How many entries ``user`` may read tag each theme as an enabler and as a barrier, by
    ``(theme id, polarity)`` (absent: none). Counted once per data version and reader scope."""

    def count() -> Mapping[tuple[int, Polarity], int]:
        rows = db.session.execute(
            select(ThemeTag.theme_id, ThemeTag.polarity, func.count(ThemeTag.id))
            .join(Entry, ThemeTag.entry_id == Entry.id)
            .where(visible_entries(user))
            .group_by(ThemeTag.theme_id, ThemeTag.polarity)
        ).all()
        return MappingProxyType({(t, Polarity(p)): n for t, p, n in rows})

    return memo(("theme-counts", listing_scope(user)), count)


def evidence_counts(user: Any) -> Mapping[int, int]:
    """How many evaluation-evidence entries ``user`` may read are tagged with each theme, by theme
    id (absent: none). Counted once per data version and reader scope."""

    def count() -> Mapping[int, int]:
        rows = db.session.execute(
            select(ThemeTag.theme_id, func.count(func.distinct(ThemeTag.entry_id)))
            .join(Entry, ThemeTag.entry_id == Entry.id)
            .where(visible_entries(user), Entry.type == EntryType.EVIDENCE)
            .group_by(ThemeTag.theme_id)
        ).all()
        return MappingProxyType(dict(rows))

    return memo(("theme-evidence-counts", listing_scope(user)), count)


def themes_by_group(user: Any) -> list[ThemeGroup]:
    """Every theme, in its group, in display order, with counts over entries ``user`` may read
    (memoised per data version and reader scope)."""

    def group() -> tuple[ThemeGroup, ...]:
        counts = tag_counts(user)
        groups: dict[str, list[ThemeCount]] = {}
        rows = db.session.execute(select(Theme.id, Theme.slug, Theme.name, Theme.definition, Theme.group)
                                  .order_by(Theme.position, Theme.name))
        for theme_id, slug, name, definition, group_name in rows:
            groups.setdefault(group_name, []).append(ThemeCount(
                ThemeRef(slug, name, definition),
                counts.get((theme_id, Polarity.ENABLER), 0),
                counts.get((theme_id, Polarity.BARRIER), 0),
            ))
        return tuple(ThemeGroup(name, tuple(themes)) for name, themes in groups.items())

    return list(memo(("themes-by-group", listing_scope(user)), group))


def get_theme(slug: str) -> Theme:
    """:raise NotFound: if there is no theme ``slug``."""
    theme = db.session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise NotFound("There is no theme at this address.")
    return theme


# Tags shown on one side of a theme page at a time.
SIDE_PAGE_SIZE = 20
_SIDE_NAMES = {Polarity.ENABLER: "what helped", Polarity.BARRIER: "what got in the way"}


@dataclass(frozen=True)
class TagCard:
    """One tag on a theme page: the entry (as a listing shows it) and its one-line reason."""

    note: str
    entry: EntryCard


@dataclass(frozen=True)
class ThemeSides:
    """What enabled and what got in the way: one page of each, as the tags (entry, site, note)
    that say so, newest entries first."""

    enablers: Page[TagCard]
    barriers: Page[TagCard]
    evidence: int = 0  # evaluation-evidence entries the reader may read tagged with the theme


def theme_sides(theme: Theme, user: Any, enablers_page: int = 1, barriers_page: int = 1,
                size: int = SIDE_PAGE_SIZE) -> ThemeSides:
    """Page ``enablers_page`` of the readable tags for ``theme`` as an enabler, and page
    ``barriers_page`` of those as a barrier (each side is paged on its own).

    :raise NotFound: if either side ends before the page asked for (the message says which).
    """
    counts = tag_counts(user)
    return ThemeSides(
        enablers=_side(theme, Polarity.ENABLER, user, enablers_page, size, counts),
        barriers=_side(theme, Polarity.BARRIER, user, barriers_page, size, counts),
        evidence=evidence_counts(user).get(theme.id, 0),
    )


def _side(theme: Theme, polarity: Polarity, user: Any, number: int, size: int,
          counts: Mapping[tuple[int, Polarity], int]) -> Page[TagCard]:
    total = counts.get((theme.id, polarity), 0)
    offset = page_offset(total, number, size, f"{_SIDE_NAMES[polarity]} for {theme.name}")
    tagged = (ThemeTag.entry_id == Entry.id, ThemeTag.theme_id == theme.id, ThemeTag.polarity == polarity)

    def read() -> tuple[TagCard, ...]:
        page = (select(Entry.id).join(ThemeTag, and_(*tagged)).where(visible_entries(user))
                .order_by(*LISTING_ORDER).limit(size).offset(offset))
        rows = db.session.execute(card_query(page, ThemeTag.note).join(ThemeTag, and_(*tagged))) if total else []
        return tuple(TagCard(row[0], EntryCard.from_row(row)) for row in rows)

    # The first page of each side is the one every link leads to: it is memoised (a few KB per
    # theme, side and scope); later pages are read each time, which keeps the memo small.
    cards = memo(("theme-side", listing_scope(user), theme.id, polarity, size), read) if number == 1 else read()
    return Page(list(cards), number, size, total)


def apply_record(theme: Theme, record: dict[str, Any], position: int) -> None:
    """Set every field of ``theme`` from a validated ``themes.yml`` item."""
    theme.slug = record["slug"]
    theme.name = record["name"]
    theme.group = record["group"]
    theme.definition = record["definition"]
    theme.reviewed_on = date.fromisoformat(record["reviewed"]) if record.get("reviewed") else None
    theme.position = position


# --- administering themes -----------------------------------------------------------------------
#
# Same rules as an item of ``content/themes.yml`` (``ThemeRecord``). The slug is chosen when the
# theme is created and never changed: entries, URLs, search filters and ``themes.yml`` refer to
# it. A new theme goes last in display order. Renaming a theme re-indexes the entries tagged
# with it through the session hooks in ``kb.search.indexing`` (theme names are searchable).


ADMINS_ONLY = "Only administrators can manage themes."

class InvalidTheme(Invalid):
    """The theme's record breaks the rules (see :class:`Invalid`)."""

    subject = "The theme"


@dataclass(frozen=True)
class ThemeSaved:
    """The theme after a save, and the fields that changed (none: nothing was written)."""

    theme: Theme
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ThemeRow:
    """A theme on the admin list, with how many entries are tagged with it."""

    theme: Theme
    entries: int



def themes_for_admin(user: Any) -> list[ThemeRow]:
    """Every theme in display order, with the number of entries (in any state) tagged with it.

    :raise NotAllowed: unless ``user`` is an admin.
    """
    require_admin(user, ADMINS_ONLY)
    counts = dict(db.session.execute(
        select(ThemeTag.theme_id, func.count(func.distinct(ThemeTag.entry_id))).group_by(ThemeTag.theme_id)
    ).all())
    themes = db.session.scalars(select(Theme).order_by(Theme.position, Theme.name))
    return [ThemeRow(theme, counts.get(theme.id, 0)) for theme in themes]


def theme_for_editing(user: Any, slug: str) -> tuple[Theme, dict[str, Any]]:
    """The theme and its record (see :func:`kb.services.records.theme_record`), for the edit form.

    :raise NotAllowed: unless ``user`` is an admin.
    :raise NotFound: if there is no theme ``slug``.
    """
    require_admin(user, ADMINS_ONLY)
    theme = get_theme(slug)
    return theme, theme_record(theme)


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    model, problems = validate(ThemeRecord, record)
    if problems or model is None:
        raise InvalidTheme(problems)
    return model.model_dump(mode="json", exclude_none=True)  # the shape of theme_record


def create_theme(actor: Any, slug: str, record: dict[str, Any], *, now: datetime,
                 client: str | None = None) -> ThemeSaved:
    """Create the theme ``slug`` from ``record`` (name, group, definition), last in display
    order; audited as ``theme_saved``.

    :raise NotAllowed: unless ``actor`` is an admin.
    :raise InvalidTheme: for a bad or taken slug or an invalid record (every problem at once).
    """
    require_admin(actor, ADMINS_ONLY)
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    try:
        clean = _clean({**record, "slug": slug})
    except InvalidTheme as invalid:
        problems += invalid.problems
    if isinstance(slug, str) and db.session.scalar(select(Theme.id).where(Theme.slug == slug)) is not None:
        problems.append(Problem(("slug",), f"slug: there is already a theme {slug!r}"))
    if problems:
        raise InvalidTheme(problems)
    position = (db.session.scalar(select(func.max(Theme.position))) or 0) + 1
    theme = Theme()
    apply_record(theme, clean, position)
    db.session.add(theme)
    audit.record("theme_saved", actor=actor, subject=f"theme:{slug}", now=now, client=client,
                 created=True, changed=[key for key in clean if key != "slug"])
    try:
        db.session.commit()
    except IntegrityError:  # created by someone else since the check above
        db.session.rollback()
        raise InvalidTheme([Problem(("slug",), f"slug: there is already a theme {slug!r}")]) from None
    return ThemeSaved(theme, tuple(key for key in clean if key != "slug"))


def save_theme(actor: Any, slug: str, record: dict[str, Any], *, now: datetime,
               client: str | None = None) -> ThemeSaved:
    """Replace the name, group and definition of the theme ``slug``; audited as ``theme_saved``.

    ``record`` may repeat the slug but not change it. A record equal to what is stored writes
    nothing (and records no event).

    :raise NotAllowed: unless ``actor`` is an admin.
    :raise NotFound: if there is no theme ``slug``.
    :raise InvalidTheme: listing every problem of the record; nothing is changed.
    """
    require_admin(actor, ADMINS_ONLY)
    theme = get_theme(slug)
    if record.get("slug", slug) != slug:
        raise InvalidTheme([Problem(("slug",), "slug: cannot be changed once a theme exists")])
    clean = _clean({**record, "slug": slug})
    before = theme_record(theme)
    changed = tuple(key for key in clean if before.get(key) != clean[key])
    if not changed:
        return ThemeSaved(theme, ())
    apply_record(theme, clean, theme.position)
    audit.record("theme_saved", actor=actor, subject=f"theme:{slug}", now=now, client=client,
                 created=False, changed=list(changed))
    db.session.commit()
    return ThemeSaved(theme, changed)
