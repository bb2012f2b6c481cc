"""Convert between database rows and plain records (the shape of a content file).

The same record is what export writes, what import compares against to decide whether anything
changed, and what a revision stores as its snapshot. Records are JSON-friendly: dates are ISO
strings, enums are their stored values, and empty optional parts are left out.
"""

from __future__ import annotations

from typing import Any

from kb.models import Entry, Site, Theme


# Key order in files, fixed so that export is byte-for-byte repeatable.
SITE_FIELDS = ("name", "kind", "wave", "region", "lead_organisations", "population", "website", "summary",
               "reviewed")
ENTRY_FIELDS = (
    "title", "type", "site", "other_sites", "status", "visibility", "published", "updated",
    "review_by", "reviewed", "summary", "themes", "sources", "links", "evidence",
)


def _drop_empty(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value not in (None, [], "")}


def theme_record(theme: Theme) -> dict[str, Any]:
    """A theme as it appears in ``themes.yml`` (``reviewed`` only when set)."""
    record = {"slug": theme.slug, "name": theme.name, "group": theme.group, "definition": theme.definition}
    if theme.reviewed_on is not None:
        record["reviewed"] = theme.reviewed_on.isoformat()
    return record


def site_record(site: Site) -> dict[str, Any]:
    """A site as front matter plus ``body`` (its Markdown profile)."""
    record = {
        "name": site.name,
        "kind": site.kind.value,
        "wave": site.wave,
        "region": site.region,
        "population": site.population,
        "website": site.website,
        "summary": site.summary,
        "reviewed": site.reviewed_on.isoformat() if site.reviewed_on else None,
    }
    record = {key: value for key, value in record.items() if value not in (None, "")}
    # Always written, even when empty, so the file shows the field exists.
    record["lead_organisations"] = list(site.lead_organisations or [])
    return {**_ordered(record, SITE_FIELDS), "body": site.profile or ""}


def _outcome(outcome) -> dict[str, Any]:  # noqa: ANN001
    return _drop_empty(
        {
            "measure": outcome.measure,
            "direction": outcome.direction.value,
            "value": outcome.value,
            "period": outcome.period,
            "population": outcome.population,
        }
    )


def entry_record(entry: Entry) -> dict[str, Any]:
    """An entry as front matter plus ``body``; the snapshot stored in every revision."""
    evidence = None
    if entry.evidence_design is not None:
        evidence = {
            "design": entry.evidence_design.value,
            "strength": entry.evidence_strength,
            "strength_reason": entry.evidence_strength_reason,
            "provenance": entry.evidence_provenance.value if entry.evidence_provenance else None,
            "outcomes": [_outcome(o) for o in entry.outcomes],
        }
        if not evidence["strength_reason"]:
            del evidence["strength_reason"]  # optional: left out when empty, as in files
    record = _drop_empty(
        {
            "title": entry.title,
            "type": entry.type.value,
            "site": entry.site.slug if entry.site else None,
            "other_sites": sorted(site.slug for site in entry.other_sites),
            "status": entry.status.value,
            "visibility": entry.visibility.value,
            "published": entry.published_on.isoformat() if entry.published_on else None,
            "updated": entry.updated_on.isoformat() if entry.updated_on else None,
            "review_by": entry.review_by.isoformat() if entry.review_by else None,
            "reviewed": entry.reviewed_on.isoformat() if entry.reviewed_on else None,
            "summary": entry.summary,
            "themes": [
                {"theme": tag.theme.slug, "polarity": tag.polarity.value, "note": tag.note}
                for tag in entry.theme_tags
            ],
            "sources": [
                _drop_empty({"title": s.title, "url": s.url, "date": s.date}) for s in entry.sources
            ],
            "links": [{"rel": link.rel.value, "entry": link.to_entry.slug} for link in entry.links],
            "evidence": evidence,
        }
    )
    record["body"] = entry.body or ""
    return record


def _ordered(data: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {key: data[key] for key in order if key in data}


def entry_from_validated(model: Any, body: str) -> dict[str, Any]:
    """The record of a validated entry file, comparable with :func:`entry_record` using ``==``."""
    data = _drop_empty(model.model_dump(mode="json", exclude_none=True))
    if "other_sites" in data:
        data["other_sites"] = sorted(data["other_sites"])
    return {**_ordered(data, ENTRY_FIELDS), "body": body}


def site_from_validated(model: Any, body: str) -> dict[str, Any]:
    """The record of a validated site file, comparable with :func:`site_record` using ``==``."""
    data = model.model_dump(mode="json", exclude_none=True)
    return {**_ordered(data, SITE_FIELDS), "body": body}
