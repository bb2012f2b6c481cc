"""The entry editor's form: its fields, and what a form can check by itself.

:class:`EntryForm` holds every part of an entry; :meth:`EntryForm.validate` checks required
fields, lengths, formats and choices with a message next to each field that names it. Field
types (the day-month-year date, the checkbox list) are in :mod:`kb.views.entry_fields`; turning
the form into a record and placing the service's problems are in :mod:`kb.views.entry_record`
(re-exported here, as the views use them through this module).

Theme tags, sources, links and outcomes are rows (WTForms ``FieldList``): the page shows the
rows there are plus a blank one, blank rows are ignored, and each "Add another … row" button
adds a row without JavaScript.

Evidence (study design, strength, provenance, outcomes) belongs to evidence entries only. The
editor hides that section for other types, but whatever is posted is checked: evidence filled
in for another type is refused with a message on each filled field, never dropped unnoticed.
"""


from __future__ import annotations

import re
import secrets
from typing import Any, Iterator

from wtforms import BooleanField, Field, FieldList, Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from kb.models import BCF_MEASURES, EntryType, EvidenceDesign, LinkRel, OutcomeDirection, Polarity, Provenance, Visibility
from kb.services.content_io.schema import SLUG_PATTERN
from kb.views.entry_fields import (ROW_LABELS, ROW_LIMITS, URL, DatePartsField, ListField, add_error, entry_slug,
                                   filled, first_row, row_blank, web_address)
from kb.views.entry_record import OTHER_MEASURE, Conversion, form_data, place_problems, to_record
from kb.views.forms import Form as BaseForm

__all__ = ["EntryForm", "Conversion", "form_data", "place_problems", "to_record", "options", "new_submission_key",
           "MAX_BODY", "OTHER_MEASURE", "ROW_LABELS", "FIELD_LABELS", "STRENGTHS", "add_error", "row_blank"]

MAX_BODY = 200_000
FIELD_LABELS = {
    "title": "Title", "summary": "Summary", "type": "Type", "site": "Site", "other_sites": "Other sites",
    "visibility": "Who can read it", "published": "Date of the work or source", "review_by": "Review by", "themes": "Enablers and barriers",
    "sources": "Sources", "links": "Links to other entries", "evidence": "Evidence", "body": "Text",
}
# What each level can show, never naming a design (a trial known only from press releases may be
# a 3; qualitative work is a 1 or 2): the wording of "How we rate evidence" (kb.views.evidence_display).
STRENGTHS = [
    ("1", "1 – describes what happened; cannot show cause"),
    ("2", "2 – systematic, but nothing to compare against"),
    ("3", "3 – compared with people or places without the work"),
    ("4", "4 – compared, allowing for the main differences"),
    ("5", "5 – a fair comparison that rules out other explanations"),
]
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# Evidence belongs to evidence entries only: each field's name in the message refusing it elsewhere.
_EVIDENCE_ONLY = {"design": "Study design", "strength": "Strength of evidence",
                  "strength_reason": "Why this strength", "provenance": "Where the figures come from"}
ONLY_EVIDENCE = ("{name} is only for evidence entries: clear it, or change the type of entry to "
                 "Evaluation evidence")


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


def _address(value: Any) -> Any:
    return web_address(value) if isinstance(value, str) else value


# Rows carry no validators of their own: a blank row is fine, so what a filled-in row needs is
# checked in EntryForm.validate(), which knows whether the row is blank.
def _row_form(name: str, *fields: str, **special: Field) -> type[Form]:
    members = {field_name: StringField(filters=[_strip]) for field_name in fields}
    return type(name, (Form,), {**members, **special})


ThemeRow = _row_form("ThemeRow", "theme", "polarity", "note")
SourceRow = _row_form("SourceRow", "title", url=StringField(filters=[_strip, _address]),
                      date=DatePartsField("Date", whole_date=False))
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
    slug = StringField("Web address", filters=[_strip], validators=[
        Optional(), Length(max=80, message="Web address must be 80 characters or fewer"),
        Regexp(SLUG_PATTERN, message="Web address can only use lowercase letters, numbers and single hyphens, "
                                     "for example sheffield-pooled-budget")])
    summary = TextAreaField("Summary", filters=[_strip], validators=[
        DataRequired("Enter a summary"), Length(max=500, message="Summary must be 500 characters or fewer")])
    type = StringField("Type", filters=[_strip])
    site = StringField("Site", filters=[_strip])
    other_sites = ListField("Other sites involved")
    visibility = StringField("Who can read it", filters=[_strip], default=Visibility.PUBLIC.value)
    published = DatePartsField("Date of the work or source")
    review_by = DatePartsField("Review-by date")
    themes = _rows(ThemeRow, "themes")
    sources = _rows(SourceRow, "sources")
    links = _rows(LinkRow, "links")
    design = StringField("Study design", filters=[_strip])
    strength = StringField("Strength of evidence", filters=[_strip])
    strength_reason = TextAreaField("Why this strength", filters=[_strip], validators=[
        Length(max=400, message="Why this strength must be 400 characters or fewer")])
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
        self.address: str | None = None  # the web address a new entry would get (set by the view)
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

    @property
    def is_evidence(self) -> bool:
        return self.type.data == EntryType.EVIDENCE.value

    def evidence_filled(self) -> bool:
        """True if anything in the evidence section was filled in (whatever the type)."""
        return any(getattr(self, name).data for name in _EVIDENCE_ONLY) or any(True for _ in filled(self.outcomes))

    def show_evidence(self) -> bool:
        """Whether the page shows the evidence section open: for evidence entries, and whenever
        it holds something (so that what was typed, and any message about it, stay in view)."""
        return self.is_evidence or self.evidence_filled()

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
        """Run the field validators, then the checks on choices, dates, rows and evidence."""
        super().validate(extra_validators)
        self._check_choices()
        self._check_rows()
        if self.is_evidence:
            self._check_evidence()
        elif self.type.data:
            self._refuse_evidence()
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
        known = dict(self.all_site_options)
        if any(slug not in known for slug in self.other_sites.data):
            add_error(self.other_sites, "Other sites involved: choose sites from the list")
        elif self.site.data in self.other_sites.data:
            add_error(self.other_sites, f"Other sites involved: untick {known[self.site.data]}, "
                                        "which is the entry’s own site")
        self.published.check("Date of the work or source")
        self.review_by.check("Review-by date")

    def _check_rows(self) -> None:
        themes = self.theme_slugs
        for row in filled(self.themes):
            _choose(row.theme, themes, "Choose a theme")
            _choose(row.polarity, _values(Polarity), "Choose enabler or barrier")
            _text(row.note, 300, "Enter a one-line note saying why")
        for row in filled(self.sources):
            _text(row.title, 300, "Enter the title of the source")
            if row.url.data and not (URL.match(row.url.data) and len(row.url.data) <= 1000):
                add_error(row.url, "Enter the web address of the source, like https://www.example.org/report, "
                                   "with no spaces")
            row.date.check("Date of the source")
        for row in filled(self.links):
            _choose(row.rel, _values(LinkRel), "Choose how the entries are related")
            slug = entry_slug(row.entry.data)
            if not slug:
                add_error(row.entry, "Enter the address name of the other entry, for example sheffield-pooled-budget")
            elif not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
                add_error(row.entry, "Enter an address name: lowercase letters, digits and single hyphens")
        if not list(filled(self.themes)):
            add_error(first_row(self.themes).theme, "Add at least one theme tag")
        if not list(filled(self.sources)):
            add_error(first_row(self.sources).title, "Add at least one source")

    def _check_evidence(self) -> None:
        _choose(self.design, _values(EvidenceDesign), "Choose the study design")
        _choose(self.strength, {value for value, _ in STRENGTHS}, "Choose the strength of evidence")
        _choose(self.provenance, _values(Provenance), "Choose where the figures come from")
        measures = {*BCF_MEASURES, OTHER_MEASURE}
        for row in filled(self.outcomes):
            if row.measure.data == OTHER_MEASURE or (not row.measure.data and row.measure_other.data):
                _text(row.measure_other, 200, "Write in the measure")
            else:
                _choose(row.measure, measures, "Choose a measure, or choose 'Another measure' and write it in")
            _choose(row.direction, _values(OutcomeDirection), "Choose the direction of the change")
            _text(row.value, 200, "Enter the value reported, for example -34% or 2,000 admissions avoided")
            _text(row.period, 100, None)
            _text(row.population, 200, None)
        if not list(filled(self.outcomes)):
            add_error(first_row(self.outcomes).measure, "Add at least one outcome")

    def _refuse_evidence(self) -> None:
        """Evidence typed for another type of entry: a message on each filled field (nothing is dropped)."""
        for name, label in _EVIDENCE_ONLY.items():
            if getattr(self, name).data:
                add_error(getattr(self, name), ONLY_EVIDENCE.format(name=label))
        for row in filled(self.outcomes):
            where = next(sub for sub in row if sub.data and sub.name.rsplit("-", 1)[-1] not in {"direction"})
            add_error(where, ONLY_EVIDENCE.format(name="The outcome"))

    def error_list(self) -> Iterator[tuple[str, str]]:
        """``(element id, message)`` for every field error, in page order (for the error summary)."""
        for name, top in self._fields.items():
            if isinstance(top, FieldList):
                for n, row in enumerate(top.entries, 1):
                    for sub in row.form:
                        for message in sub.errors:
                            yield _target_id(sub), f"{ROW_LABELS[name]} {n}: {message}"
            elif name != "csrf_token":
                for message in top.errors:
                    yield _target_id(top), message


def _target_id(field_: Field) -> str:
    """The id of the element an error summary link should land on (a date's first wrong box)."""
    return field_.target_id if isinstance(field_, DatePartsField) else field_.id


def _choose(field_: Field, allowed: set[str], message: str) -> None:
    if field_.data not in allowed:
        add_error(field_, message)


def _text(field_: Field, limit: int, required: str | None) -> None:
    if not field_.data:
        if required:
            add_error(field_, required)
    elif len(field_.data) > limit:
        add_error(field_, f"Must be {limit} characters or fewer")
