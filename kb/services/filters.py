"""The filters a reader can apply to entries, parsed and checked in one place.

Search, browsing and (later) feeds use the same object, so that the URL parameters, their
validation and their labels never drift apart. Filters typed into the search box
(``site:sheffield strength:>=3``) are taken out of ``q`` and checked exactly like the URL
parameters of the same names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Mapping

from kb.models import EntryType, Polarity
from kb.search.querytext import extract_fields
from kb.services.errors import BadRequest
from kb.services.content_io.schema import SLUG_PATTERN

MAX_QUERY_LENGTH = 500
MAX_PAGE = 10_000
# "strength": evaluation evidence strongest first (then best match, or newest), other entries after.
SORTS = {"relevance": "Best match", "strength": "Strongest evidence first", "newest": "Newest first",
         "oldest": "Oldest first", "title": "Title A to Z"}
TYPED_FILTERS = frozenset({"site", "theme", "polarity", "type", "strength", "year"})
_STRENGTH = re.compile(r"^(?:>=)?([0-9]+)$")
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
    sort: str = ""  # empty: best match when there are words, newest first when browsing
    page: int = field(default=1, compare=False)
    typed: tuple[str, ...] = field(default=(), compare=False, repr=False)  # filters taken out of q

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Parse URL query parameters.

        :raise BadRequest: with a message naming the parameter, for any value that cannot be used.
        """
        q = _CONTROL.sub(" ", args.get("q", "")).strip()
        if len(q) > MAX_QUERY_LENGTH:
            raise BadRequest(f"Your search is too long. Use at most {MAX_QUERY_LENGTH} characters.")
        q, typed = extract_fields(q, TYPED_FILTERS)
        args = {**args, **_typed_args(typed)}
        return cls(
            q=q,
            type=_choice(args, "type", [t.value for t in EntryType], "type of entry"),
            site=_slug(args, "site"),
            theme=_slug(args, "theme"),
            polarity=_choice(args, "polarity", [p.value for p in Polarity], "enabler or barrier"),
            year=_number(args, "year", 1990, 2100, "year"),
            strength=_number(args, "strength", 1, 5, "strength of evidence"),
            sort=_choice(args, "sort", list(SORTS), "sort order") or "",
            page=_number(args, "page", 1, MAX_PAGE, "page number") or 1,
            typed=tuple(name for name, _ in typed),
        )

    def to_args(self, **changes: object) -> dict[str, str]:
        """URL parameters for these filters with ``changes`` applied; defaults are left out.

        Any change other than ``page`` goes back to page 1, since the old page may not exist.
        """
        if changes and "page" not in changes:
            changes["page"] = 1
        unknown = changes.keys() - _ARG_DEFAULTS.keys()
        if unknown:
            raise TypeError(f"Filters has no parameter {', '.join(sorted(unknown))}")
        # A search page asks this some 75 times (a link per facet option): a plain loop over the
        # fields rather than dataclasses.replace and fields() each time.
        args = {}
        for name, default in _ARG_DEFAULTS.items():
            value = changes[name] if name in changes else getattr(self, name)
            if value not in (None, "", default):
                args[name] = str(value)
        return args

    @property
    def is_empty(self) -> bool:
        """True when no query and no filter is set (sort and page do not count)."""
        return not any([self.q, self.type, self.site, self.theme, self.polarity, self.year, self.strength])


    @property
    def effective_sort(self) -> str:
        """The sort in force: the chosen one, or best match with words and newest without."""
        if self.sort == "relevance" and not self.q:
            return "newest"
        return self.sort or ("relevance" if self.q else "newest")


# The URL parameters, in the order links spell them, with the defaults that are left out.
_ARG_DEFAULTS = {f.name: f.default for f in fields(Filters) if f.name != "typed"}
# Each parameter's place in that order.
ARG_ORDER = {name: place for place, name in enumerate(_ARG_DEFAULTS)}


def _typed_args(typed: list[tuple[str, str]]) -> dict[str, str]:
    """URL-parameter values for filters typed into the search box (the last of a name wins)."""
    args = {}
    for name, value in typed:
        value = value.strip()
        if not value:
            raise BadRequest(f"Add a value after “{name}:”, for example {_EXAMPLES[name]}.")
        if name == "strength":
            match = _STRENGTH.match(value)
            if not match:
                raise BadRequest(
                    f"“strength:{_shorten(value)}” is not a strength of evidence. Use strength:3 or strength:>=3 "
                    "(a whole number from 1 to 5; both mean at least that strength)."
                )
            value = match.group(1)
        args[name] = value.lower() if name != "type" else value
    return args


_EXAMPLES = {
    "site": "site:sheffield",
    "theme": "theme:data-sharing",
    "polarity": "polarity:barrier",
    "type": "type:evidence",
    "strength": "strength:>=3",
    "year": "year:2015",
}


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
