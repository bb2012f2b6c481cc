"""The rules a content file must follow, as pydantic models (see ``docs/content-format.md``).

Validation returns :class:`Problem` values — a location inside the YAML and a message — so the
importer can turn each into ``path:line: message``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from kb.models import (
    EntryStatus,
    EntryType,
    EvidenceDesign,
    LinkRel,
    OutcomeDirection,
    Polarity,
    Provenance,
    SiteKind,
    Visibility,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Entry slugs that name the editor's own pages (/entries/new, /entries/preview).
RESERVED_ENTRY_SLUGS = frozenset({"new", "preview"})
# One-line text: the rule of kb.textcheck (no control characters, C0 or C1, no line or paragraph
# separators), as a pattern pydantic can apply. Multi-line text is checked with kb.textcheck itself.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


def _text(max_length: int, min_length: int = 1) -> Any:
    """A one-line string: trimmed, no control characters (so no line breaks), bounded."""
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            min_length=min_length,
            max_length=max_length,
            pattern=NO_CONTROL_CHARACTERS,
        ),
    ]


def _as_text(value: Any) -> Any:
    # YAML turns 2014-15 into a string but 2015 into an int and 2015-04-01 into a date; fields
    # that are text by nature accept all three and keep what the author wrote.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=r"^https?://[^\s<>\"'`\x00-\x1f\x7f]+$")]
# ``site.website`` is a shorter column than ``source.url``; a longer value would fail only at the
# database (PostgreSQL enforces lengths) and take the whole import down with it.
Website = Annotated[Url, StringConstraints(max_length=500)]
LooseText = Annotated[str, BeforeValidator(_as_text)]


def _strict(enum_cls):  # noqa: ANN001 - returns a Literal type
    """Accept only an enum's stored values (as text), so messages list the allowed words."""
    return Literal[tuple(member.value for member in enum_cls)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThemeRecord(_Record):
    slug: Slug
    name: _text(80)
    group: _text(80)
    definition: _text(400)
    reviewed: dt.date | None = None


class SiteRecord(_Record):
    name: _text(120)
    kind: _strict(SiteKind)
    wave: Literal[1, 2] | None = None
    region: _text(80)
    lead_organisations: list[_text(200)] = Field(default_factory=list, max_length=40)
    population: Annotated[_text(120) | None, BeforeValidator(_as_text)] = None
    website: Website | None = None
    summary: _text(400)
    reviewed: dt.date | None = None


class ThemeTagRecord(_Record):
    theme: Slug
    polarity: _strict(Polarity)
    note: _text(300)


class SourceRecord(_Record):
    title: _text(300)
    url: Url | None = None
    date: Annotated[
        str | None,
        BeforeValidator(_as_text),
        StringConstraints(pattern=r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"),
    ] = None

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value and len(value) == 10:
            dt.date.fromisoformat(value)  # rejects 2015-02-30
        return value


class LinkRecord(_Record):
    rel: _strict(LinkRel)
    entry: Slug


class OutcomeRecord(_Record):
    measure: _text(200)
    direction: _strict(OutcomeDirection)
    value: Annotated[_text(200), BeforeValidator(_as_text)]
    period: Annotated[_text(100) | None, BeforeValidator(_as_text)] = None
    population: Annotated[_text(200) | None, BeforeValidator(_as_text)] = None


class EvidenceRecord(_Record):
    design: _strict(EvidenceDesign)
    strength: Annotated[int, Field(ge=1, le=5, strict=True)]
    strength_reason: _text(400) | None = None
    provenance: _strict(Provenance)
    outcomes: list[OutcomeRecord] = Field(min_length=1, max_length=50)


class EntryRecord(_Record):
    title: _text(200)
    type: _strict(EntryType)
    site: Slug | None = None
    other_sites: list[Slug] = Field(default_factory=list, max_length=30)
    status: _strict(EntryStatus) = EntryStatus.PUBLISHED.value
    visibility: _strict(Visibility) = Visibility.PUBLIC.value
    published: dt.date | None = None
    updated: dt.date | None = None
    review_by: dt.date | None = None
    reviewed: dt.date | None = None
    summary: _text(500)
    themes: list[ThemeTagRecord] = Field(min_length=1, max_length=40)
    sources: list[SourceRecord] = Field(min_length=1, max_length=60)
    links: list[LinkRecord] = Field(default_factory=list, max_length=60)
    evidence: EvidenceRecord | None = None

    @field_validator("published", "updated", "review_by", "reviewed", mode="before")
    @classmethod
    def _dates_only(cls, value: Any) -> Any:
        # A datetime is a date in Python; a timestamp in a date field is a typo worth reporting.
        if isinstance(value, dt.datetime):
            raise ValueError("must be a date written YYYY-MM-DD, without a time")
        if isinstance(value, str) and len(value) != 10:
            raise ValueError("must be a date written YYYY-MM-DD")
        return value


@dataclass(frozen=True)
class Problem:
    """Something wrong at ``loc`` (a path of keys and indexes into the YAML)."""

    loc: tuple[Any, ...]
    message: str


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
    kind = error["type"]
    if kind == "missing":
        return f"{loc}: is required"
    if kind == "extra_forbidden":
        return f"{loc}: is not a known field"
    if kind == "literal_error":
        return f"{loc}: {error['msg'].replace('Input should be', 'must be')}"
    if kind == "string_pattern_mismatch":
        if loc.endswith("url") or loc == "website":
            return f"{loc}: must be an http:// or https:// address with no spaces"
        if "date" in loc:
            return f"{loc}: must be a date written YYYY, YYYY-MM or YYYY-MM-DD"
        if error["ctx"]["pattern"] == SLUG_PATTERN:
            return f"{loc}: must be a slug (lowercase letters, digits and single hyphens)"
        return f"{loc}: must be one line of text without control characters"
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return f"{loc}: {message[0].lower()}{message[1:]}"


def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        # Union members add their type name to the location (``str``, ``int``); drop them.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in {"str", "int", "none", "literal[1,2]"}))
        error = {**error, "loc": loc}
        problems.append(Problem(loc, _describe(error)))
    # Several union branches may report on one value; keep the first message per place.
    unique: dict[tuple[Any, ...], Problem] = {}
    for problem in problems:
        unique.setdefault(problem.loc, problem)
    return list(unique.values())


def validate(model: type[_Record], data: Any) -> tuple[Any, list[Problem]]:
    """Validate ``data`` against ``model``; return the record (or None) and the problems found."""
    if not isinstance(data, dict):
        return None, [Problem((), "front matter must be a set of 'key: value' lines")]
    non_text_keys = [key for key in data if not isinstance(key, str)]
    if non_text_keys:
        return None, [Problem((), f"{non_text_keys[0]!r}: field names must be text")]
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        return None, _problems(exc)
    return record, check(record)


def check(record: _Record) -> list[Problem]:
    """Rules that involve several fields at once."""
    problems: list[Problem] = []
    if isinstance(record, SiteRecord):
        if record.kind == SiteKind.PIONEER.value and record.wave is None:
            problems.append(Problem(("kind",), "wave: pioneers need a wave (1 or 2)"))
        if record.kind != SiteKind.PIONEER.value and record.wave is not None:
            problems.append(Problem(("wave",), "wave: only pioneers have a wave"))
    if isinstance(record, EntryRecord):
        if record.type == EntryType.EVIDENCE.value and record.evidence is None:
            problems.append(Problem(("type",), "evidence: is required for evidence entries"))
        if record.type != EntryType.EVIDENCE.value and record.evidence is not None:
            problems.append(Problem(("evidence",), "evidence: is only allowed on evidence entries"))
        if record.status in {"published", "archived"} and record.published is None:
            problems.append(Problem(("status",), "published: a published or archived entry needs a published date"))
        if record.updated and record.published and record.updated < record.published:
            problems.append(Problem(("updated",), "updated: is before the published date"))
        if record.reviewed and record.published and record.reviewed < record.published:
            problems.append(Problem(("reviewed",), "reviewed: is before the published date"))
        if record.site and record.site in record.other_sites:
            problems.append(Problem(("other_sites",), f"other_sites: repeats the main site {record.site!r}"))
        seen_tags: set[tuple[str, str]] = set()
        for index, tag in enumerate(record.themes):
            if (tag.theme, tag.polarity) in seen_tags:
                problems.append(Problem(("themes", index), f"themes.{index}: {tag.theme} is already tagged as {tag.polarity}"))
            seen_tags.add((tag.theme, tag.polarity))
        seen_links: set[tuple[str, str]] = set()
        for index, link in enumerate(record.links):
            if (link.rel, link.entry) in seen_links:
                problems.append(Problem(("links", index), f"links.{index}: repeats an earlier link"))
            seen_links.add((link.rel, link.entry))
    return problems
