"""Test data made through the same services the application uses."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from kb.extensions import db
from kb.models import Entry, Site, SiteKind, Theme, User
from kb.services import entries as entry_service
from kb.services import sites as site_service
from kb.services import themes as theme_service

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
_ids = itertools.count(1)


def make_theme(slug: str | None = None, **fields: Any) -> Theme:
    slug = slug or f"theme-{next(_ids)}"
    theme = Theme()
    record = {"slug": slug, "name": slug.replace("-", " ").title(), "group": "Test group", "definition": "A test theme."}
    theme_service.apply_record(theme, {**record, **fields}, position=next(_ids))
    db.session.add(theme)
    db.session.commit()
    return theme


def make_site(slug: str | None = None, **fields: Any) -> Site:
    slug = slug or f"site-{next(_ids)}"
    site = Site()
    record = {
        "name": slug.replace("-", " ").title(),
        "kind": SiteKind.PIONEER.value,
        "wave": 1,
        "region": "London",
        "summary": "A test site.",
        "body": "",
    }
    site_service.apply_record(site, slug, {**record, **fields})
    db.session.add(site)
    db.session.commit()
    return site


def make_entry(slug: str | None = None, *, site: Site | None = None, theme: Theme | None = None, **fields: Any) -> Entry:
    """An entry saved with a first revision; ``fields`` override the record (see content format)."""
    slug = slug or f"entry-{next(_ids)}"
    site = site or make_site()
    theme = theme or make_theme()
    record: dict[str, Any] = {
        "title": f"Entry {slug}",
        "type": "case_study",
        "site": site.slug,
        "status": "published",
        "visibility": "public",
        "published": "2015-04-01",
        "summary": f"Summary of {slug}.",
        "themes": [{"theme": theme.slug, "polarity": "enabler", "note": "It helped."}],
        "sources": [{"title": "A source", "url": "https://example.org/a", "date": "2015-04"}],
        "body": "Some **body** text.",
    }
    record.update(fields)
    lookups = entry_service.Lookups(
        sites={s.slug: s for s in db.session.scalars(db.select(Site))},
        themes={t.slug: t for t in db.session.scalars(db.select(Theme))},
        entries={e.slug: e for e in db.session.scalars(db.select(Entry))},
    )
    entry = Entry(slug=slug, version=0)
    db.session.add(entry)
    entry_service.apply_fields(entry, record, lookups)
    entry_service.apply_links(entry, record, lookups)
    entry_service.record_revision(entry, author=None, now=NOW, summary="Created in a test")
    db.session.commit()
    return entry


def make_user(email: str | None = None, **fields: Any) -> User:
    user = User(email=email or f"user{next(_ids)}@example.nhs.uk", **{"name": "Test User", **fields})
    db.session.add(user)
    db.session.commit()
    return user
