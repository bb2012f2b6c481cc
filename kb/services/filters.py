"""The filters a reader can apply to entries, parsed and checked in one place.

The browse page uses them over SQL today and the full-text search will use the same object, so
that the URL parameters, their validation and their labels never drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Mapping

from kb.models import EntryType, Polarity
from kb.services.errors import BadRequest
from kb.services.content_io.schema import SLUG_PATTERN

MAX_QUERY_LENGTH = 500
MAX_PAGE = 10_000
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "title": "Title A to Z"}
_SLUG = re.compile(SLUG_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Filters:
    """A reader's query, filters, sort and page. Empty ``q`` means browse everything."""

    q: str = ""
    type: str | None = None
    site: str | None = None
    theme: str | None = None
    polarity: str | None = None
    year: int | None = None
    strength: int | None = None
    sort: str = "newest"
    page: int = field(default=1, compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Parse URL query parameters.

        :raise BadRequest: with a message naming the parameter, for any value that cannot be used.
        """
        q = _CONTROL.sub(" ", args.get("q", "")).strip()
        if len(q) > MAX_QUERY_LENGTH:
            raise BadRequest(f"Your search is too long. Use at most {MAX_QUERY_LENGTH} characters.")
        return cls(
            q=q,
            type=_choice(args, "type", [t.value for t in EntryType], "type of entry"),
            site=_slug(args, "site"),
            theme=_slug(args, "theme"),
            polarity=_choice(args, "polarity", [p.value for p in Polarity], "enabler or barrier"),
            year=_number(args, "year", 1990, 2100, "year"),
            strength=_number(args, "strength", 1, 5, "strength of evidence"),
            sort=_choice(args, "sort", list(SORTS), "sort order") or "newest",
            page=_number(args, "page", 1, MAX_PAGE, "page number") or 1,
        )

    def to_args(self, **changes: object) -> dict[str, str]:
        """URL parameters for these filters with ``changes`` applied; defaults are left out.

        Any change other than ``page`` goes back to page 1, since the old page may not exist.
        """
        if changes and "page" not in changes:
            changes["page"] = 1
        current = replace(self, **changes)
        args = {}
        for f in fields(self):
            value = getattr(current, f.name)
            if value not in (None, "", f.default):
                args[f.name] = str(value)
        return args

    @property
    def is_empty(self) -> bool:
        """True when no query and no filter is set (sort and page do not count)."""
        return not any([self.q, self.type, self.site, self.theme, self.polarity, self.year, self.strength])


def _value(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    return value or None


def _choice(args: Mapping[str, str], name: str, allowed: list[str], what: str) -> str | None:
    value = _value(args, name)
    if value is not None and value not in allowed:
        raise BadRequest(f"'{_shorten(value)}' is not a {what} this site knows. Choose one of: {', '.join(allowed)}.")
    return value


def _slug(args: Mapping[str, str], name: str) -> str | None:
    value = _value(args, name)
    if value is not None and (not _SLUG.match(value) or len(value) > 80):
        raise BadRequest(f"'{_shorten(value)}' is not a valid {name}.")
    return value


def _number(args: Mapping[str, str], name: str, low: int, high: int, what: str) -> int | None:
    value = _value(args, name)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequest(f"The {what} must be a whole number from {low} to {high}, not '{_shorten(value)}'.")
    return int(value)


def _shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "…"
