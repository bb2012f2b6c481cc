"""Conversion between the entry editor's form and an entry *record*, and the service's problems
put back on the form.

A record is the dictionary a content file holds (``docs/content-format.md``);
:mod:`kb.services.authoring` saves records and reports problems by their place in one, such as
``("themes", 0, "theme")``. :func:`to_record` turns a form into a record (blank rows left out),
:func:`form_data` a record into what the form shows, and :func:`place_problems` puts each
problem next to the field it is about (or in the error summary when no field fits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from wtforms import Field

from kb.models import BCF_MEASURES, EntryType, Visibility
from kb.services.content_io.schema import Problem
from kb.views.entry_fields import ROW_LABELS, add_error, entry_slug, first_row, row_blank

if TYPE_CHECKING:
    from kb.views.entry_form import EntryForm

OTHER_MEASURE = "other"


@dataclass
class Conversion:
    """A record made from the form, and for each row list, which form row each record item came from."""

    record: dict[str, Any]
    rows: dict[str, list[int]] = field(default_factory=dict)


def _some(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def to_record(form: EntryForm) -> Conversion:
    """The record the form describes: blank rows left out, and evidence only for evidence
    entries (the form's validation refuses evidence typed for another type, so nothing typed
    is dropped here unnoticed)."""
    conversion = Conversion({})

    def filled(name: str) -> Iterator[Any]:
        conversion.rows[name] = []
        for i, row in enumerate(getattr(form, name).entries):
            if not row_blank(row):
                conversion.rows[name].append(i)
                yield row.form

    record: dict[str, Any] = {
        "title": form.title.data or "",
        "type": form.type.data or "",
        "site": form.site.data or None,
        "other_sites": sorted(set(form.other_sites.data)),
        "visibility": form.visibility.data or "",
        "summary": " ".join((form.summary.data or "").split()),  # one line, as the format wants
        "themes": [{"theme": r.theme.data or "", "polarity": r.polarity.data or "", "note": r.note.data or ""}
                   for r in filled("themes")],
        "sources": [{"title": r.title.data or "", **_some(url=r.url.data, date=r.date.data)} for r in filled("sources")],
        "links": [{"rel": r.rel.data or "", "entry": entry_slug(r.entry.data)} for r in filled("links")],
        "body": (form.body.data or "").replace("\r\n", "\n"),
    }
    if form.published.data:
        record["published"] = form.published.data
    if form.review_by.data:
        record["review_by"] = form.review_by.data
    if form.type.data == EntryType.EVIDENCE.value:
        outcomes = []
        for r in filled("outcomes"):
            measure = r.measure_other.data if r.measure.data in (OTHER_MEASURE, "", None) else r.measure.data
            outcomes.append({"measure": measure or "", "direction": r.direction.data or "", "value": r.value.data or "",
                             **_some(period=r.period.data, population=r.population.data)})
        strength = form.strength.data or ""
        record["evidence"] = {"design": form.design.data or "", "strength": int(strength) if strength.isdigit() else strength,
                              **_some(strength_reason=" ".join((form.strength_reason.data or "").split())),
                              "provenance": form.provenance.data or "", "outcomes": outcomes}
    conversion.record = record
    return conversion


def form_data(record: dict[str, Any]) -> dict[str, Any]:
    """What :class:`EntryForm` needs (as ``data=``) to show ``record``."""
    evidence = record.get("evidence") or {}

    def row(item: dict[str, Any], *keys: str) -> dict[str, str]:
        return {key: item.get(key, "") for key in keys}

    def outcome(item: dict[str, Any]) -> dict[str, str]:
        bcf = item.get("measure") in BCF_MEASURES  # a BCF metric is chosen; anything else is written in
        return {**row(item, "direction", "value", "period", "population"),
                "measure": item["measure"] if bcf else OTHER_MEASURE, "measure_other": "" if bcf else item.get("measure", "")}

    return {
        **row(record, "title", "summary", "type", "site", "published", "review_by", "body"),
        **row(evidence, "design", "strength_reason", "provenance"),
        "visibility": record.get("visibility", Visibility.PUBLIC.value),
        "other_sites": list(record.get("other_sites", [])),
        "themes": [row(tag, "theme", "polarity", "note") for tag in record.get("themes", [])],
        "sources": [row(source, "title", "url", "date") for source in record.get("sources", [])],
        "links": [row(link, "rel", "entry") for link in record.get("links", [])],
        "strength": str(evidence.get("strength", "")),
        "outcomes": [outcome(item) for item in evidence.get("outcomes", [])],
    }


# --- the service's problems on the form ---------------------------------------------------------

_EVIDENCE_FIELDS = {"design", "strength", "strength_reason", "provenance"}
_HIDDEN = {"csrf_token", "base_version", "submission_key"}


def place_problems(form: EntryForm, conversion: Conversion, problems: list[Problem]) -> None:
    """Put each problem next to the field it is about; those no field fits go in the summary."""
    for problem in problems:
        target = _target(form, conversion, problem.loc)
        message = _plain(problem)
        if target is None:
            form.general_errors.append(message)
        else:
            add_error(target, message)


def _target(form: EntryForm, conversion: Conversion, loc: tuple[Any, ...]) -> Field | None:
    head, rest = (loc[0], loc[1:]) if loc else (None, ())
    if head == "evidence":  # the evidence fields sit at the top of the form
        if rest and rest[0] == "outcomes":
            return _row_field(form, conversion, "outcomes", rest[1:])
        head, rest = (rest[0], rest[1:]) if rest and rest[0] in _EVIDENCE_FIELDS else ("type", ())
    if head in ROW_LABELS:
        return _row_field(form, conversion, head, rest)
    if isinstance(head, str) and head in form._fields and head not in _HIDDEN:
        return form._fields[head]
    return None  # status, published dates: nothing the user can change here


def _row_field(form: EntryForm, conversion: Conversion, name: str, rest: tuple[Any, ...]) -> Field:
    rows = getattr(form, name)
    where = conversion.rows.get(name, [])
    if rest and isinstance(rest[0], int) and 0 <= rest[0] < len(where):
        row = rows.entries[where[rest[0]]].form
    else:
        row = first_row(rows)
    sub = rest[1] if len(rest) > 1 else None
    return row[sub] if isinstance(sub, str) and sub in row._fields else next(iter(row))


def _plain(problem: Problem) -> str:
    """The message without its technical ``themes.0.theme:`` prefix, as a sentence."""
    message = problem.message
    prefix, _, rest = message.partition(": ")
    if rest and " " not in prefix:
        message = rest
    if message == "is required":
        message = "this is required"
    return message[:1].upper() + message[1:]
