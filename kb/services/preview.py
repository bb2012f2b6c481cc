"""An entry as readers would see it, made from an editor's record without saving anything.

:func:`preview_entry` builds a *transient* :class:`Entry` — never added to the session, so no
flush or commit can ever write it — from a record the editor's form made, however incomplete:
an unknown type, site or theme is left out rather than refused (the save reports those), so the
preview shows what can be shown. The entry page's templates render it like a saved entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from kb.extensions import db
from kb.models import (Entry, EntryStatus, EntryType, EvidenceDesign, Outcome, OutcomeDirection, Polarity,
                       Provenance, Site, Source, Theme, ThemeTag, Visibility)

PREVIEW_SLUG = "preview"


def _enum(enum_cls, value: Any) -> Any:  # noqa: ANN001 - a LabelledEnum class
    try:
        return enum_cls(value)
    except ValueError:
        return None


def preview_entry(record: dict[str, Any], *, slug: str | None = None) -> Entry:
    """A transient entry holding what ``record`` says (a draft, never published, never saved).

    Anything the record names that does not exist (a site, a theme) or is not a valid choice is
    left out. Reads sites and themes; writes nothing.
    """
    site_slugs = [record.get("site"), *record.get("other_sites", [])]
    sites = {s.slug: s for s in db.session.scalars(select(Site).where(Site.slug.in_([s for s in site_slugs if s])))}
    tags = record.get("themes", [])
    themes = {t.slug: t for t in db.session.scalars(select(Theme).where(Theme.slug.in_([t["theme"] for t in tags])))}
    review_by, published = record.get("review_by"), record.get("published")
    entry = Entry(
        slug=slug or PREVIEW_SLUG, title=record.get("title") or "", summary=record.get("summary") or "",
        body=record.get("body") or "", type=_enum(EntryType, record.get("type")),
        visibility=_enum(Visibility, record.get("visibility")) or Visibility.PUBLIC, status=EntryStatus.DRAFT,
        review_by=date.fromisoformat(review_by) if review_by else None,
        published_on=date.fromisoformat(published) if published else None, version=0,
    )
    entry.site = sites.get(record.get("site") or "")
    entry.other_sites = [sites[s] for s in record.get("other_sites", []) if s in sites and s != record.get("site")]
    entry.theme_tags = [ThemeTag(theme=themes[t["theme"]], polarity=polarity, note=t.get("note") or "", position=i)
                        for i, t in enumerate(tags)
                        if t["theme"] in themes and (polarity := _enum(Polarity, t.get("polarity")))]
    entry.sources = [Source(title=s.get("title") or "", url=s.get("url"), date=s.get("date"), position=i)
                     for i, s in enumerate(record.get("sources", []))]
    evidence = record.get("evidence") or {}
    design, provenance = _enum(EvidenceDesign, evidence.get("design")), _enum(Provenance, evidence.get("provenance"))
    strength = evidence.get("strength")
    # The entry page shows the evidence box whole or not at all: it is filled only once it can be.
    if entry.type == EntryType.EVIDENCE and design and provenance and isinstance(strength, int) and 1 <= strength <= 5:
        entry.evidence_design, entry.evidence_strength, entry.evidence_provenance = design, strength, provenance
        entry.evidence_strength_reason = evidence.get("strength_reason") or None
        entry.outcomes = [Outcome(measure=o.get("measure") or "", direction=direction, value=o.get("value") or "",
                                  period=o.get("period"), population=o.get("population"), position=i)
                          for i, o in enumerate(evidence.get("outcomes", []))
                          if (direction := _enum(OutcomeDirection, o.get("direction")))]
    return entry
