"""Themes: the index by group with enabler/barrier counts, and one theme's two sides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import Entry, Polarity, Theme, ThemeTag
from kb.services.errors import NotFound
from kb.services.permissions import visible_entries


@dataclass(frozen=True)
class ThemeCount:
    """A theme with how many readable entries tag it as an enabler and as a barrier."""

    theme: Theme
    enablers: int
    barriers: int


@dataclass(frozen=True)
class ThemeGroup:
    name: str
    themes: list[ThemeCount]


def themes_by_group(user: Any) -> list[ThemeGroup]:
    """Every theme, in its group, in display order, with counts over entries ``user`` may read."""
    rows = db.session.execute(
        select(ThemeTag.theme_id, ThemeTag.polarity, func.count(ThemeTag.id))
        .join(Entry, ThemeTag.entry_id == Entry.id)
        .where(visible_entries(user))
        .group_by(ThemeTag.theme_id, ThemeTag.polarity)
    ).all()
    counts: dict[tuple[int, Polarity], int] = {(t, p): n for t, p, n in rows}
    groups: dict[str, list[ThemeCount]] = {}
    for theme in db.session.scalars(select(Theme).order_by(Theme.position, Theme.name)):
        groups.setdefault(theme.group, []).append(
            ThemeCount(
                theme,
                counts.get((theme.id, Polarity.ENABLER), 0),
                counts.get((theme.id, Polarity.BARRIER), 0),
            )
        )
    return [ThemeGroup(name, themes) for name, themes in groups.items()]


def get_theme(slug: str) -> Theme:
    """:raise NotFound: if there is no theme ``slug``."""
    theme = db.session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise NotFound("There is no theme at this address.")
    return theme


@dataclass(frozen=True)
class ThemeSides:
    """What enabled and what got in the way, as the tags (entry, site, note) that say so."""

    enablers: list[ThemeTag]
    barriers: list[ThemeTag]


def theme_sides(theme: Theme, user: Any) -> ThemeSides:
    """The readable tags for ``theme``, split by polarity, newest entries first."""
    tags = list(
        db.session.scalars(
            select(ThemeTag)
            .join(Entry, ThemeTag.entry_id == Entry.id)
            .where(ThemeTag.theme_id == theme.id, visible_entries(user))
            .order_by(Entry.published_on.desc(), Entry.title)
            .options(selectinload(ThemeTag.entry).selectinload(Entry.site))
        )
    )
    return ThemeSides(
        enablers=[t for t in tags if t.polarity == Polarity.ENABLER],
        barriers=[t for t in tags if t.polarity == Polarity.BARRIER],
    )


def apply_record(theme: Theme, record: dict[str, Any], position: int) -> None:
    """Set every field of ``theme`` from a validated ``themes.yml`` item."""
    theme.slug = record["slug"]
    theme.name = record["name"]
    theme.group = record["group"]
    theme.definition = record["definition"]
    theme.position = position
