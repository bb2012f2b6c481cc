"""The entry editor's form, and conversion between the form and an entry *record*.

A record is the dictionary a content file holds (``docs/content-format.md``);
:mod:`kb.services.authoring` saves records and reports problems by their place in one, such as
``("themes", 0, "theme")``. This module keeps the views thin: it fills the form from a record,
checks what a form can check by itself (required fields, lengths, formats, choices) with a
message next to each field, turns the form into a record, and puts the service's problems on
the fields they are about (or in the error summary when no field fits).

Theme tags, sources, links and outcomes are rows (WTForms ``FieldList``): the page shows the
rows there are plus a blank one, blank rows are ignored, and each "Add another … row" button
adds a row without JavaScript.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

from wtforms import BooleanField, Field, FieldList, Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from kb.models import BCF_MEASURES, EntryType, EvidenceDesign, LinkRel, OutcomeDirection, Polarity, Provenance, Visibility
from kb.services.content_io.schema import SLUG_PATTERN, Problem
from kb.views.forms import Form as BaseForm

MAX_BODY = 200_000
OTHER_MEASURE = "other"
# Row lists: their label in messages, and the most rows a list may have (the content format's limits).
ROW_LABELS = {"themes": "Theme tag", "sources": "Source", "links": "Link", "outcomes": "Outcome"}
ROW_LIMITS = {"themes": 40, "sources": 60, "links": 60, "outcomes": 50}
FIELD_LABELS = {
    "title": "Title", "summary": "Summary", "type": "Type", "site": "Site", "other_sites": "Other sites",
    "visibility": "Who can read it", "review_by": "Review by", "themes": "Enablers and barriers",
    "sources": "Sources", "links": "Links to other entries", "evidence": "Evidence", "body": "Text",
}
STRENGTHS = [
    ("1", "1 – association or description only"),
    ("2", "2 – before and after, no comparison group"),
    ("3", "3 – compared with a control group"),
    ("4", "4 – compared with a control group, other factors controlled for"),
    ("5", "5 – randomised"),
]
_SOURCE_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_URL = re.compile(r"^https?://[^\s<>\"'`\x00-\x1f\x7f]+$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ENTRY_ADDRESS = re.compile(r"/entries/([^/?#\s]+)/?(?:[?#].*)?$")


def options(enum_cls) -> list[tuple[str, str]]:  # noqa: ANN001 - a LabelledEnum class
    """``(value, label)`` pairs of an enum, for selects and radios."""
    return [(member.value, member.label) for member in enum_cls]


def _values(enum_cls) -> set[str]:  # noqa: ANN001 - a LabelledEnum class
    return {member.value for member in enum_cls}


def new_submission_key() -> str:
    """A random key for one editing session of the form (the service dedupes saves on it)."""
    return secrets.token_urlsafe(24)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ListField(Field):
    """Many values under one name (a group of checkboxes); the data is a list of strings."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [value.strip() for value in valuelist if isinstance(value, str) and value.strip()]

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])


# Rows carry no validators of their own: a blank row is fine, so what a filled-in row needs is
# checked in EntryForm.validate(), which knows whether the row is blank.
def _row_form(name: str, *fields: str) -> type[Form]:
    return type(name, (Form,), {field_name: StringField(filters=[_strip]) for field_name in fields})


ThemeRow = _row_form("ThemeRow", "theme", "polarity", "note")
SourceRow = _row_form("SourceRow", "title", "url", "date")
LinkRow = _row_form("LinkRow", "rel", "entry")
OutcomeRow = _row_form("OutcomeRow", "measure", "measure_other", "direction", "value", "period", "population")


def _rows(row_form: type[Form], name: str) -> FieldList:
    # One more than the limit: the blank row the page always offers.
    return FieldList(FormField(row_form), max_entries=ROW_LIMITS[name] + 1)


class EntryForm(BaseForm):
    """Every part of an entry, plus the edit summary, the minor flag and two hidden fields:
    ``base_version`` (the version the form was loaded at) and ``submission_key``."""

    title = StringField("Title", filters=[_strip], validators=[
        DataRequired("Enter a title"), Length(max=200, message="Title must be 200 characters or fewer")])
    slug = StringField("Address name", filters=[_strip], validators=[
        Optional(), Length(max=80, message="Address name must be 80 characters or fewer"),
        Regexp(SLUG_PATTERN, message="Address name can only use lowercase letters, digits and single hyphens, "
                                     "for example sheffield-pooled-budget")])
    summary = TextAreaField("Summary", filters=[_strip], validators=[
        DataRequired("Enter a summary"), Length(max=500, message="Summary must be 500 characters or fewer")])
    type = StringField("Type", filters=[_strip])
    site = StringField("Site", filters=[_strip])
    other_sites = ListField("Other sites involved")
    visibility = StringField("Who can read it", filters=[_strip], default=Visibility.PUBLIC.value)
    review_by = StringField("Review by", filters=[_strip])
    themes = _rows(ThemeRow, "themes")
    sources = _rows(SourceRow, "sources")
    links = _rows(LinkRow, "links")
    design = StringField("Study design", filters=[_strip])
    strength = StringField("Strength of evidence", filters=[_strip])
    provenance = StringField("Where the figures come from", filters=[_strip])
    outcomes = _rows(OutcomeRow, "outcomes")
    body = TextAreaField("Text", validators=[
        Length(max=MAX_BODY, message=f"Text must be {MAX_BODY:,} characters or fewer")])
    edit_summary = StringField("Summary of your changes", filters=[_strip], validators=[
        Length(max=300, message="Summary of your changes must be 300 characters or fewer")])
    minor = BooleanField("This is a minor edit")
    base_version = HiddenField()
    submission_key = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []
        self.site_options: list[tuple[str, str]] = []
        self.all_site_options: list[tuple[str, str]] = []
        self.theme_groups: list[tuple[str, list[tuple[str, str]]]] = []
        if not _KEY.match(self.submission_key.data or ""):
            if self.submission_key.data:  # a damaged key: refuse to save with it, offer a good one
                self.general_errors.append("The form was damaged in transit. Check your changes and save again.")
            self.submission_key.data = new_submission_key()

    # --- choices ---------------------------------------------------------------------------

    def offer(self, author_sites: list[Any], all_sites: list[Any], themes: list[Any]) -> None:
        """Set what the selects offer: the sites the user writes for, every site, every theme."""
        self.site_options = [(site.slug, site.name) for site in author_sites]
        self.all_site_options = [(site.slug, site.name) for site in all_sites]
        groups: dict[str, list[tuple[str, str]]] = {}
        for theme in themes:
            groups.setdefault(theme.group, []).append((theme.slug, theme.name))
        self.theme_groups = list(groups.items())

    @property
    def theme_slugs(self) -> set[str]:
        return {slug for _, themes in self.theme_groups for slug, _ in themes}

    # --- rows --------------------------------------------------------------------------------

    def add_row(self, name: str) -> None:
        """Append a blank row to the list ``name`` (unless it is full)."""
        rows = getattr(self, name)
        if len(rows.entries) < rows.max_entries:
            rows.append_entry()

    def ensure_blank_rows(self) -> None:
        """Make sure every list ends with a blank row for the next item (space permitting)."""
        for name in ROW_LABELS:
            rows = getattr(self, name)
            if not rows.entries or not row_blank(rows.entries[-1]):
                self.add_row(name)

    # --- validation --------------------------------------------------------------------------

    def validate(self, extra_validators: Any = None) -> bool:
        """Run the field validators, then the checks on choices, rows and evidence."""
        super().validate(extra_validators)
        self._check_choices()
        self._check_rows()
        if self.type.data == EntryType.EVIDENCE.value:
            self._check_evidence()
        if self.base_version.data and not re.fullmatch(r"\d{1,9}", self.base_version.data):
            self.general_errors.append("The form was damaged in transit. Reload the editor to start again.")
        return not self.has_errors()

    def has_errors(self) -> bool:
        return bool(self.general_errors) or any(True for _ in self.error_list())

    def _check_choices(self) -> None:
        _choose(self.type, _values(EntryType), "Choose the type of entry")
        _choose(self.visibility, _values(Visibility), "Choose who can read the entry")
        if not self.site.data:
            add_error(self.site, "Choose the site the entry belongs to")
        elif self.site.data not in {slug for slug, _ in self.site_options}:
            add_error(self.site, "Choose one of the sites you write for")
        known = {slug for slug, _ in self.all_site_options}
        if any(slug not in known for slug in self.other_sites.data):
            add_error(self.other_sites, "Choose other sites from the list")
        elif self.site.data in self.other_sites.data:
            add_error(self.other_sites, "Do not tick the entry's own site as another site")
        if self.review_by.data and not _real_date(self.review_by.data, exact=True):
            add_error(self.review_by, "Enter a real date as year-month-day, for example 2027-04-01")

    def _check_rows(self) -> None:
        themes = self.theme_slugs
        for row in _filled(self.themes):
            _choose(row.theme, themes, "Choose a theme")
            _choose(row.polarity, _values(Polarity), "Choose enabler or barrier")
            _text(row.note, 300, "Enter a one-line note saying why")
        for row in _filled(self.sources):
            _text(row.title, 300, "Enter the title of the source")
            if row.url.data and not (_URL.match(row.url.data) and len(row.url.data) <= 1000):
                add_error(row.url, "Enter a web address starting http:// or https://, with no spaces")
            if row.date.data and not _real_date(row.date.data):
                add_error(row.date, "Enter the date as YYYY, YYYY-MM or YYYY-MM-DD, for example 2015-04")
        for row in _filled(self.links):
            _choose(row.rel, _values(LinkRel), "Choose how the entries are related")
            slug = entry_slug(row.entry.data)
            if not slug:
                add_error(row.entry, "Enter the address name of the other entry, for example sheffield-pooled-budget")
            elif not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
                add_error(row.entry, "Enter an address name: lowercase letters, digits and single hyphens")
        if not list(_filled(self.themes)):
            add_error(_first(self.themes).theme, "Add at least one theme tag")
        if not list(_filled(self.sources)):
            add_error(_first(self.sources).title, "Add at least one source")

    def _check_evidence(self) -> None:
        _choose(self.design, _values(EvidenceDesign), "Choose the study design")
        _choose(self.strength, {value for value, _ in STRENGTHS}, "Choose the strength of evidence")
        _choose(self.provenance, _values(Provenance), "Choose where the figures come from")
        measures = {*BCF_MEASURES, OTHER_MEASURE}
        for row in _filled(self.outcomes):
            if row.measure.data == OTHER_MEASURE or (not row.measure.data and row.measure_other.data):
                _text(row.measure_other, 200, "Write in the measure")
            else:
                _choose(row.measure, measures, "Choose a measure, or choose 'Another measure' and write it in")
            _choose(row.direction, _values(OutcomeDirection), "Choose the direction of the change")
            _text(row.value, 200, "Enter the value reported, for example -34% or 2,000 admissions avoided")
            _text(row.period, 100, None)
            _text(row.population, 200, None)
        if not list(_filled(self.outcomes)):
            add_error(_first(self.outcomes).measure, "Add at least one outcome")

    def error_list(self) -> Iterator[tuple[str, str]]:
        """``(field id, message)`` for every field error, in page order (for the error summary)."""
        for name, top in self._fields.items():
            if isinstance(top, FieldList):
                for n, row in enumerate(top.entries, 1):
                    for sub in row.form:
                        for message in sub.errors:
                            yield sub.id, f"{ROW_LABELS[name]} {n}: {message}"
            elif name != "csrf_token":
                for message in top.errors:
                    yield top.id, message


def add_error(field_: Field, message: str) -> None:
    """Add ``message`` to ``field_``'s errors (a field that was never validated has a tuple)."""
    if not isinstance(field_.errors, list):
        field_.errors = list(field_.errors)
    field_.errors.append(message)


def _choose(field_: Field, allowed: set[str], message: str) -> None:
    if field_.data not in allowed:
        add_error(field_, message)


def _text(field_: Field, limit: int, required: str | None) -> None:
    if not field_.data:
        if required:
            add_error(field_, required)
    elif len(field_.data) > limit:
        add_error(field_, f"Must be {limit} characters or fewer")


def _real_date(text: str, exact: bool = False) -> bool:
    if exact and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    if not _SOURCE_DATE.match(text):
        return False
    try:
        date.fromisoformat({4: f"{text}-01-01", 7: f"{text}-01"}.get(len(text), text))
    except ValueError:
        return False
    return True


def row_blank(row: FormField) -> bool:
    """True if nothing that makes a row was filled in (a polarity or relation alone does not)."""
    values = {name: sub.data for name, sub in row.form._fields.items()}
    ignored = {"polarity", "rel", "direction"}
    return not any(value for name, value in values.items() if name not in ignored)


def _filled(rows: FieldList) -> Iterator[Any]:
    for row in rows.entries:
        if not row_blank(row):
            yield row.form


def _first(rows: FieldList) -> Any:
    if not rows.entries:
        rows.append_entry()
    return rows.entries[0].form


def entry_slug(text: str | None) -> str:
    """An entry's slug from what was typed: the slug itself, or the address of its page."""
    text = (text or "").strip()
    match = _ENTRY_ADDRESS.search(text)
    return match.group(1) if match else text


# --- form ⇄ record ------------------------------------------------------------------------------


@dataclass
class Conversion:
    """A record made from the form, and for each row list, which form row each record item came from."""

    record: dict[str, Any]
    rows: dict[str, list[int]] = field(default_factory=dict)


def _some(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def to_record(form: EntryForm) -> Conversion:
    """The record the form describes (blank rows left out; evidence only for evidence entries)."""
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
        **row(record, "title", "summary", "type", "site", "review_by", "body"),
        **row(evidence, "design", "provenance"),
        "visibility": record.get("visibility", Visibility.PUBLIC.value),
        "other_sites": list(record.get("other_sites", [])),
        "themes": [row(tag, "theme", "polarity", "note") for tag in record.get("themes", [])],
        "sources": [row(source, "title", "url", "date") for source in record.get("sources", [])],
        "links": [row(link, "rel", "entry") for link in record.get("links", [])],
        "strength": str(evidence.get("strength", "")),
        "outcomes": [outcome(item) for item in evidence.get("outcomes", [])],
    }


# --- the service's problems on the form ---------------------------------------------------------

_EVIDENCE_FIELDS = {"design", "strength", "provenance"}
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
        row = _first(rows)
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
