"""Sites: listing them by wave, a site's profile, and saving them from records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, Polarity, Site, SiteKind, Theme, ThemeTag
from kb.services.errors import NotFound
from kb.services.permissions import visible_entries


@dataclass(frozen=True)
class SiteGroup:
    """Sites shown under one heading on the sites index."""

    heading: str
    description: str
    sites: list[Site]


def sites_by_wave() -> list[SiteGroup]:
    """Wave 1 pioneers, wave 2 pioneers, then associates and comparators, each by name."""
    sites = list(db.session.scalars(select(Site).order_by(Site.name)))
    groups = [
        SiteGroup("Wave 1 pioneers", "Chosen in November 2013.", [s for s in sites if s.wave == 1]),
        SiteGroup("Wave 2 pioneers", "Joined in January 2015.", [s for s in sites if s.wave == 2]),
        SiteGroup(
            "Other places in the network",
            "Places that were not pioneers but whose experience the network learns from.",
            [s for s in sites if s.kind != SiteKind.PIONEER],
        ),
    ]
    return [group for group in groups if group.sites]


def get_site(slug: str) -> Site:
    """:raise NotFound: if there is no site ``slug``."""
    site = db.session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        raise NotFound("There is no site at this address.")
    return site


@dataclass(frozen=True)
class ThemeBalance:
    """How often one theme helped or hindered, across the entries counted."""

    theme: Theme
    enablers: int
    barriers: int


def theme_profile(site: Site, user: Any) -> list[ThemeBalance]:
    """For each theme tagged on the site's own entries that ``user`` may read: enabler and barrier
    counts, most-mentioned first."""
    rows = db.session.execute(
        select(ThemeTag.theme_id, ThemeTag.polarity, func.count(ThemeTag.id))
        .join(Entry, ThemeTag.entry_id == Entry.id)
        .where(Entry.site_id == site.id, visible_entries(user))
        .group_by(ThemeTag.theme_id, ThemeTag.polarity)
    ).all()
    counts: dict[int, dict[Polarity, int]] = {}
    for theme_id, polarity, n in rows:
        counts.setdefault(theme_id, {})[polarity] = n
    themes = {t.id: t for t in db.session.scalars(select(Theme).where(Theme.id.in_(counts)))}
    balances = [
        ThemeBalance(themes[theme_id], c.get(Polarity.ENABLER, 0), c.get(Polarity.BARRIER, 0))
        for theme_id, c in counts.items()
    ]
    return sorted(balances, key=lambda b: (-(b.enablers + b.barriers), b.theme.name))


def apply_record(site: Site, slug: str, record: dict[str, Any]) -> None:
    """Set every field of ``site`` from a validated record (see ``content_io.records``)."""
    site.slug = slug
    site.name = record["name"]
    site.kind = SiteKind(record["kind"])
    site.wave = record.get("wave")
    site.region = record["region"]
    site.lead_organisations = list(record.get("lead_organisations", []))
    site.population = record.get("population")
    site.website = record.get("website")
    site.summary = record["summary"]
    site.profile = record.get("body", "")
