"""Sites: listing them by wave, a site's profile, and saving them from records (import and admins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb import textcheck
from kb.extensions import db
from kb.models import Entry, Polarity, Site, SiteKind, Theme, ThemeTag
from kb.services import audit
from kb.models.entries import entry_other_site
from kb.services.browse import Page, page_offset
from kb.services.content_io.schema import SLUG_PATTERN, Problem, SiteRecord, validate
from kb.services.dataversion import memo
from kb.services.entries import LISTING_ORDER, EntryCard, card_query, listing_scope
from kb.services.errors import Invalid, NotFound
from kb.services.permissions import require_admin, visible_entries
from kb.services.records import site_from_validated, site_record


@dataclass(frozen=True)
class SiteSummary:
    """A site as the site lists show it (plain values, safe to memoise and share)."""

    slug: str
    name: str
    kind: SiteKind
    wave: int | None
    region: str
    summary: str


@dataclass(frozen=True)
class SiteGroup:
    """Sites shown under one heading on the sites index."""

    heading: str
    description: str
    sites: tuple[SiteSummary, ...]


def sites_by_wave() -> list[SiteGroup]:
    """Wave 1 pioneers, wave 2 pioneers, then associates and comparators, each by name
    (memoised per data version: the same for every reader)."""

    def group() -> tuple[SiteGroup, ...]:
        sites = [SiteSummary(*row) for row in db.session.execute(
            select(Site.slug, Site.name, Site.kind, Site.wave, Site.region, Site.summary).order_by(Site.name))]
        groups = [
            SiteGroup("Wave 1 pioneers", "Chosen in November 2013.", tuple(s for s in sites if s.wave == 1)),
            SiteGroup("Wave 2 pioneers", "Joined in January 2015.", tuple(s for s in sites if s.wave == 2)),
            SiteGroup(
                "Other places in the network",
                "Places that were not pioneers but whose experience the network learns from.",
                tuple(s for s in sites if s.kind != SiteKind.PIONEER),
            ),
        ]
        return tuple(group for group in groups if group.sites)

    return list(memo(("sites-by-wave",), group))


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
    counts, most-mentioned first (counted once per data version, reader scope and site)."""

    def count() -> tuple[tuple[int, int, int], ...]:
        rows = db.session.execute(
            select(ThemeTag.theme_id, ThemeTag.polarity, func.count(ThemeTag.id))
            .join(Entry, ThemeTag.entry_id == Entry.id)
            .where(Entry.site_id == site.id, visible_entries(user))
            .group_by(ThemeTag.theme_id, ThemeTag.polarity)
        ).all()
        counts: dict[int, dict[Polarity, int]] = {}
        for theme_id, polarity, n in rows:
            counts.setdefault(theme_id, {})[Polarity(polarity)] = n
        return tuple((t, c.get(Polarity.ENABLER, 0), c.get(Polarity.BARRIER, 0)) for t, c in counts.items())

    counted = memo(("site-profile", listing_scope(user), site.id), count)
    themes = {t.id: t for t in db.session.scalars(select(Theme).where(Theme.id.in_([t for t, _, _ in counted])))}
    balances = [ThemeBalance(themes[t], enablers, barriers) for t, enablers, barriers in counted if t in themes]
    return sorted(balances, key=lambda b: (-(b.enablers + b.barriers), b.theme.name))


# Entries shown in one list of a site page at a time.
SITE_PAGE_SIZE = 20


def site_entries(site: Site, user: Any, number: int = 1, *, involved: bool = False,
                 size: int = SITE_PAGE_SIZE) -> Page[EntryCard]:
    """Page ``number`` of the entries ``user`` may read that belong to ``site`` — or, with
    ``involved``, that belong elsewhere (or to no site) and involve it — newest first.

    :raise NotFound: if the list ends before that page.
    """
    if involved:
        others = select(entry_other_site.c.entry_id).where(entry_other_site.c.site_id == site.id)
        own = select(Entry.id).where(Entry.site_id == site.id)
        # "Not one of its own" as ids rather than a test of entry.site_id, so that the query is
        # answered from the indexes without reading the entry rows.
        where = (Entry.id.in_(others), Entry.id.not_in(own))
        what = f"the other entries that involve {site.name}"
    else:
        where = (Entry.site_id == site.id,)
        what = f"the entries from {site.name}"
    conditions = (visible_entries(user), *where)
    total = memo(("site-entries", listing_scope(user), site.id, involved),
                 lambda: db.session.scalar(select(func.count(Entry.id)).where(*conditions)) or 0)
    offset = page_offset(total, number, size, what)

    def read() -> tuple[EntryCard, ...]:
        page = select(Entry.id).where(*conditions).order_by(*LISTING_ORDER).limit(size).offset(offset)
        return tuple(EntryCard.from_row(row) for row in db.session.execute(card_query(page))) if total else ()

    # The first page is memoised, as a theme side's is (see kb.services.themes._side).
    cards = memo(("site-entries-page", listing_scope(user), site.id, involved, size), read) if number == 1 else read()
    return Page(list(cards), number, size, total)


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
    site.reviewed_on = date.fromisoformat(record["reviewed"]) if record.get("reviewed") else None


# --- administering sites ------------------------------------------------------------------------
#
# Admins create and edit sites through the same rules as ``content/sites/*.md`` files (the
# ``SiteRecord`` model), so the form and import can never disagree about what a valid site is.
# A site's slug is its address, its file name and what entries refer to, so it is chosen once,
# when the site is created, and never changed here. A site's *name* is part of its entries'
# search documents; the session hooks in ``kb.search.indexing`` re-index those entries after
# the commit that renames it, so nothing here has to.

MAX_PROFILE = 50_000
_SLUG = re.compile(SLUG_PATTERN)


ADMINS_ONLY = "Only administrators can manage sites."

class InvalidSite(Invalid):
    """The site's record breaks the rules (see :class:`Invalid`)."""

    subject = "The site"


@dataclass(frozen=True)
class SiteSaved:
    """The site after a save, and the fields that changed (none: nothing was written)."""

    site: Site
    changed: tuple[str, ...]


@dataclass(frozen=True)
class SiteRow:
    """A site on the admin list, with how many entries (in any state) belong to it."""

    site: Site
    entries: int



def sites_for_admin(user: Any) -> list[SiteRow]:
    """Every site by name, with its number of entries.

    :raise NotAllowed: unless ``user`` is an admin.
    """
    require_admin(user, ADMINS_ONLY)
    counts = dict(db.session.execute(select(Entry.site_id, func.count(Entry.id)).group_by(Entry.site_id)).all())
    return [SiteRow(site, counts.get(site.id, 0)) for site in db.session.scalars(select(Site).order_by(Site.name))]


def site_for_editing(user: Any, slug: str) -> tuple[Site, dict[str, Any]]:
    """The site and its record (see :func:`kb.services.records.site_record`), for the edit form.

    :raise NotAllowed: unless ``user`` is an admin.
    :raise NotFound: if there is no site ``slug``.
    """
    require_admin(user, ADMINS_ONLY)
    site = get_site(slug)
    return site, site_record(site)


def clean_site_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` (site fields plus ``body``, the Markdown profile) checked as a site file is.

    :raise InvalidSite: listing every problem.
    """
    front = {key: value for key, value in record.items() if key != "body"}
    body = record.get("body") or ""
    problems: list[Problem] = []
    model, found = validate(SiteRecord, front)
    problems += found
    if not isinstance(body, str):
        problems.append(Problem(("body",), "body: must be text"))
    else:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
        if len(body) > MAX_PROFILE:
            problems.append(Problem(("body",), f"body: must be {MAX_PROFILE:,} characters or fewer"))
        elif problem := textcheck.problem(body, multiline=True):
            problems.append(Problem(("body",), f"body: {problem}"))
    if problems or model is None:
        raise InvalidSite(problems)
    return site_from_validated(model, body)


def _slug_problems(slug: str) -> list[Problem]:
    if not isinstance(slug, str) or not _SLUG.match(slug) or len(slug) > 80:
        return [Problem(("slug",), "slug: must be a slug of at most 80 characters "
                                   "(lowercase letters, digits and single hyphens)")]
    if db.session.scalar(select(Site.id).where(Site.slug == slug)) is not None:
        return [Problem(("slug",), f"slug: there is already a site {slug!r}")]
    return []


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    keys = dict.fromkeys([*before, *after])
    return tuple("profile" if key == "body" else key for key in keys if before.get(key) != after.get(key))


def create_site(actor: Any, slug: str, record: dict[str, Any], *, now: datetime,
                client: str | None = None) -> SiteSaved:
    """Create the site ``slug`` from ``record``, audited as ``site_saved``.

    :raise NotAllowed: unless ``actor`` is an admin.
    :raise InvalidSite: for a bad or taken slug or an invalid record (every problem at once).
    """
    require_admin(actor, ADMINS_ONLY)
    problems = _slug_problems(slug)
    try:
        clean = clean_site_record(record)
    except InvalidSite as invalid:
        problems += invalid.problems
    if problems:
        raise InvalidSite(problems)
    site = Site()
    apply_record(site, slug, clean)
    db.session.add(site)
    changed = _changed({}, clean)
    audit.record("site_saved", actor=actor, subject=f"site:{slug}", now=now, client=client,
                 created=True, changed=list(changed))
    try:
        db.session.commit()
    except IntegrityError:  # created by someone else since the check above
        db.session.rollback()
        raise InvalidSite([Problem(("slug",), f"slug: there is already a site {slug!r}")]) from None
    return SiteSaved(site, changed)


def save_site(actor: Any, slug: str, record: dict[str, Any], *, now: datetime,
              client: str | None = None) -> SiteSaved:
    """Replace every field of the site ``slug`` with ``record``; audited as ``site_saved``.

    A record equal to what is stored writes nothing (and records no event).

    :raise NotAllowed: unless ``actor`` is an admin.
    :raise NotFound: if there is no site ``slug``.
    :raise InvalidSite: listing every problem of the record; nothing is changed.
    """
    require_admin(actor, ADMINS_ONLY)
    site = get_site(slug)
    clean = clean_site_record(record)
    changed = _changed(site_record(site), clean)
    if not changed:
        return SiteSaved(site, ())
    apply_record(site, slug, clean)
    audit.record("site_saved", actor=actor, subject=f"site:{slug}", now=now, client=client,
                 created=False, changed=list(changed))
    db.session.commit()
    return SiteSaved(site, changed)
