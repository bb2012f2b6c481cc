"""Field types and field-level helpers of the entry editor (:mod:`kb.views.entry_form`).

* :class:`ListField` — a group of checkboxes under one name;
* :class:`DatePartsField` — a date typed as day, month and year (the NHS.UK / GOV.UK date
  input), whose data is the ISO text the content format stores (``2027-06-01``, or for a
  source ``2015`` / ``2015-04``), with messages that name the field and say which part is wrong;
* :func:`web_address` — a source's web address as people type it, with ``https://`` added when
  no scheme was typed;
* :func:`add_error`, :func:`row_blank` and friends, shared by the form and its conversion.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterator

from wtforms import Field, FieldList, FormField

from kb import textcheck

# Row lists: their label in messages, and the most rows a list may have (the content format's limits).
ROW_LABELS = {"themes": "Theme tag", "sources": "Source", "links": "Link", "outcomes": "Outcome"}
ROW_LIMITS = {"themes": 40, "sources": 60, "links": 60, "outcomes": 50}

_ENTRY_ADDRESS = re.compile(r"/entries/([^/?#\s]+)/?(?:[?#].*)?$")
URL = re.compile(r"^https?://[^\s<>\"'`\x00-\x1f\x7f]+$")
# A scheme someone typed on purpose ("javascript:", "mailto:", "ftp://"): never turned into https.
# A host with a port ("example.org:8080/x") has a dot before its colon, so it is not a scheme.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+-]*:")


def web_address(text: str | None) -> str | None:
    """``text`` with ``https://`` put in front when it has no scheme ("www.example.org/x" →
    "https://www.example.org/x"; "//example.org" → "https://example.org"). Anything else is
    returned as typed, for :data:`URL` to accept or refuse (``javascript:`` and ``data:`` are refused)."""
    text = (text or "").strip()
    if not text or _SCHEME.match(text):
        return text
    if text.startswith("//"):
        return "https:" + text
    if "." in text.split("/", 1)[0] and not text.startswith("/"):
        return "https://" + text
    return text


class ListField(Field):
    """Many values under one name (a group of checkboxes); the data is a list of strings."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [value.strip() for value in valuelist if isinstance(value, str) and value.strip()]

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])


PARTS = ("day", "month", "year")
_ISO_PARTS = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class DatePartsField(Field):
    """A date typed in three boxes, posted as ``<name>-day``, ``<name>-month`` and ``<name>-year``.

    ``data`` is the ISO text of a complete, real date (or None while the boxes are blank or
    wrong); ``parts`` keeps what was typed, to show it again. ``whole_date`` says whether day and
    month are needed (a review-by date) or may be left out (a source dated 2015 or April 2015).
    A single ISO value posted under the field's own name is read too, as older forms sent it.
    Call :meth:`check` with the field's name as messages should say it; it sets ``errors`` and
    ``bad_parts`` (the boxes to mark, the first being where the error summary links to).
    """

    def __init__(self, label: str | None = None, validators: Any = None, *, whole_date: bool = True, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.whole_date = whole_date
        self.parts: dict[str, str] = dict.fromkeys(PARTS, "")
        self.bad_parts: list[str] = []

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.raw_data = None
        self.object_data = data
        if formdata is not None:
            self.parts = {part: _typed(formdata.get(f"{self.name}-{part}")) for part in PARTS}
            if self.blank and formdata.get(self.name):
                self.parts = _split(_typed(formdata.get(self.name), limit=40))
        else:
            self.parts = _split(str(data) if data else "")
        self.data = self._iso()

    def _iso(self) -> str | None:
        day, month, year = (self.parts[p] for p in PARTS)
        if not re.fullmatch(r"\d{4}", year) or not all(re.fullmatch(r"\d{0,2}", p) for p in (day, month)):
            return None
        if self.whole_date and not (day and month):
            return None
        if day and not month:
            return None
        try:
            date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            return None
        return "-".join([year, *([f"{int(month):02d}"] if month else []), *([f"{int(day):02d}"] if day else [])])

    @property
    def blank(self) -> bool:
        return not any(self.parts.values())

    @property
    def target_id(self) -> str:
        """Where the error summary links to: the first box to correct."""
        return f"{self.id}-{self.bad_parts[0] if self.bad_parts else 'day'}"

    def check(self, name: str) -> None:
        """Add the message for what is wrong with the boxes, if anything; ``name`` is how the
        message names the field ("Review-by date")."""
        if self.blank or self.data is not None:
            return
        day, month, year = (self.parts[p] for p in PARTS)
        needed = ["day", "month", "year"] if self.whole_date else (["month"] if day else []) + ["year"]
        missing = [part for part in needed if not self.parts[part]]
        example = "1 6 2027" if self.whole_date else "2015, or 4 2015 for April 2015"
        if missing and len(missing) < 3:
            self.bad_parts = missing
            add_error(self, f"{name} must include a {' and '.join(missing)}")
        elif all(p.isdigit() for p in (day, month, year) if p) and not re.fullmatch(r"\d{4}", year):
            self.bad_parts = ["year"]
            add_error(self, f"{name}: the year must have 4 numbers, for example 2027")
        else:
            self.bad_parts = [part for part in PARTS if self.parts[part]] or ["day"]
            add_error(self, f"{name} must be a real date, for example {example}")


def _typed(value: Any, limit: int = 10) -> str:
    """A box's value as typed, trimmed, without characters the text rule refuses, and short:
    the boxes only ever hold a few digits, so anything longer is shown cut, never stored."""
    text = value.strip() if isinstance(value, str) else ""
    return textcheck.clean(text)[:limit]


def _split(text: str) -> dict[str, str]:
    """Boxes for an ISO date (``2015``, ``2015-04``, ``2015-04-01``); other text goes in the year box."""
    match = _ISO_PARTS.match(text.strip())
    if not match:
        return {"day": "", "month": "", "year": text.strip()}
    year, month, day = match.groups()
    return {"day": str(int(day)) if day else "", "month": str(int(month)) if month else "", "year": year}


# --- helpers the form and its conversion share ----------------------------------------------------


def add_error(field_: Field, message: str) -> None:
    """Add ``message`` to ``field_``'s errors (a field that was never validated has a tuple)."""
    if not isinstance(field_.errors, list):
        field_.errors = list(field_.errors)
    field_.errors.append(message)


def row_blank(row: FormField) -> bool:
    """True if nothing that makes a row was filled in (a polarity or relation alone does not)."""
    ignored = {"polarity", "rel", "direction"}
    for name, sub in row.form._fields.items():
        if name in ignored:
            continue
        if isinstance(sub, DatePartsField):
            if not sub.blank:
                return False
        elif sub.data:
            return False
    return True


def filled(rows: FieldList) -> Iterator[Any]:
    """The row forms of ``rows`` that are not blank."""
    for row in rows.entries:
        if not row_blank(row):
            yield row.form


def first_row(rows: FieldList) -> Any:
    """The first row form of ``rows`` (adding a blank one if there is none)."""
    if not rows.entries:
        rows.append_entry()
    return rows.entries[0].form


def entry_slug(text: str | None) -> str:
    """An entry's slug from what was typed: the slug itself, or the address of its page."""
    text = (text or "").strip()
    match = _ENTRY_ADDRESS.search(text)
    return match.group(1) if match else text
