"""What templates may call: Markdown rendering, date formats, URL helpers."""

from __future__ import annotations

import functools
import re
from datetime import date
from urllib.parse import quote_plus, urlsplit

from flask import Flask, current_app, g, has_request_context, request, url_for
from markupsafe import Markup, escape

from kb import markdown
from kb.models import EntryType
from kb.services.filters import ARG_ORDER as _ARG_ORDER, Filters
from kb.views.evidence_display import evidence_facts, strength_reason, strength_scale


def _internal_hosts() -> frozenset[str]:
    host = urlsplit(current_app.config["KB_BASE_URL"]).hostname
    return frozenset({host}) if host else frozenset()


def render_markdown(text: str | None) -> Markup:
    """Markdown → sanitised HTML. The only place templates get unescaped user content from."""
    return Markup(markdown.render(text or "", _internal_hosts()))


def long_date(value: date | None) -> str:
    """``1 April 2015``, the GOV.UK date style."""
    return f"{value.day} {value:%B %Y}" if value else ""


def source_date(value: str | None) -> str:
    """A source's ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` in words."""
    if not value:
        return ""
    if len(value) == 10:
        return long_date(date.fromisoformat(value))
    if len(value) == 7:
        return f"{date.fromisoformat(value + '-01'):%B %Y}"
    return value


# The query-string encoding url_for uses (werkzeug.urls._urlencode): links built here are the
# same, character for character, as url_for's (tests/app/test_search_urls.py holds them equal).
URL_SAFE = "!$'()*,/:;?@"


def search_url(filters, **changes) -> str:  # noqa: ANN001 - Filters
    """The /search URL for ``filters`` with ``changes`` applied.

    A search page links to itself some 75 times (every facet option, every "remove"), so the
    path is looked up once per request and only the query string is built per link.
    """
    base = g.get("kb_search_path") if has_request_context() else None
    if base is None:
        base = url_for("search.index")
        if has_request_context():
            g.kb_search_path = base
    query = "&".join(_parameter(name, value) for name, value in filters.to_args(**changes).items())
    return f"{base}?{query}" if query else base


_PLAIN_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")  # nothing url_for would quote


def entry_url(slug: str) -> str:
    """``url_for("entries.show", slug=slug)``, with the path's prefix looked up once per request
    (a results page links 20 entries). Slugs with anything to quote go through url_for."""
    if not (has_request_context() and _PLAIN_SLUG.match(slug)):
        return url_for("entries.show", slug=slug)
    prefix = g.get("kb_entry_prefix")
    if prefix is None:
        prefix = g.kb_entry_prefix = url_for("entries.show", slug="x")[:-1]
    return prefix + slug


# The NHS.UK tag colour of each type of entry.
_TYPE_COLOURS = {EntryType.CASE_STUDY: "blue", EntryType.INTERVENTION: "purple", EntryType.EVIDENCE: "orange"}


def type_tag(entry_type: EntryType) -> Markup:
    """The tag naming an entry's type, coloured by type (a function, not a macro: a results page
    shows twenty, and a Jinja macro call costs more than the HTML it writes)."""
    return Markup(f'<strong class="nhsuk-tag nhsuk-tag--{_TYPE_COLOURS[entry_type]}">{escape(entry_type.label)}</strong>')


def entry_card(entry, heading_level: int = 3, title: Markup | None = None, summary: Markup | None = None,
               snippet: Markup | None = None, reason: str | None = None) -> Markup:  # noqa: ANN001 - Entry or EntryCard
    """An entry as an NHS.UK clickable card: its type (and "Network only"), for evidence its
    strength and where its figures come from, its title linking to it, its summary, a search
    snippet if given, and its site and date. Every listing of entries uses it (search results,
    theme and site pages, the home page), so readers see the same facts wherever they choose.

    ``title`` and ``summary``, when given, are already marked-up search highlights; otherwise the
    entry's own are escaped. ``reason`` (a theme tag's "because" note) is shown instead of the
    summary. A function rather than a macro: a results page shows twenty cards, and Jinja spent a
    twentieth of the search page's time writing them piece by piece.
    """
    network = ' <strong class="nhsuk-tag nhsuk-tag--grey">Network only</strong>' if entry.visibility.value == "network" else ""
    facts = evidence_facts(entry)
    place = escape(entry.site.name) if entry.site else "Network-wide"
    when = f" · {long_date(entry.published_on)}" if entry.published_on else ""
    found = f'\n    <p class="nhsuk-body-s kb-snippet">{snippet}</p>' if snippet else ""
    if reason is not None:
        described = f'<p class="nhsuk-card__description kb-card-reason">{escape(reason)}</p>'
    else:
        described = f'<p class="nhsuk-card__description">{escape(entry.summary) if summary is None else summary}</p>'
    return Markup(
        f'<li class="nhsuk-card nhsuk-card--clickable">\n  <div class="nhsuk-card__content">\n'
        f'    <p class="nhsuk-body-s nhsuk-u-margin-bottom-2 kb-card-kind">{type_tag(entry.type)}{network}{" " + facts if facts else ""}</p>\n'
        f'    <h{heading_level} class="nhsuk-card__heading nhsuk-heading-s">\n'
        f'      <a class="nhsuk-card__link" href="{escape(entry_url(entry.slug))}">{escape(entry.title) if title is None else title}</a>\n'
        f'    </h{heading_level}>\n'
        f'    {described}{found}\n'
        f'    <p class="nhsuk-body-s kb-meta nhsuk-u-margin-bottom-0">{place}{escape(when)}</p>\n'
        f'  </div>\n</li>\n')


# Options shown before the rest of a long facet go behind "All … options".
FACET_SHOWN = 6
FACET_FOLDED_FROM = 9  # options in a facet from which it is folded


def facet_list(filters, facet) -> Markup:  # noqa: ANN001 - Filters, Facet
    """One search facet: its heading and its options (:func:`facet_option`), the options after the
    first :data:`FACET_SHOWN` folded behind "All … options" when there are many.

    Written here rather than in the template because a search page has some 75 options, and a
    Jinja loop and call per option was a third of the page's rendering.
    """
    options = [facet_option(filters, facet, option) for option in facet.options]
    label = escape(facet.label)
    parts = [f'<div class="kb-facet" id="facet-{escape(facet.name)}">\n'
             f'<h3 class="nhsuk-heading-xs nhsuk-u-margin-bottom-2">{label}</h3>\n'
             '<ul class="nhsuk-list nhsuk-body-s">\n']
    if len(options) < FACET_FOLDED_FROM:
        parts += [*options, "</ul>\n"]
    else:
        parts += [*options[:FACET_SHOWN], "</ul>\n",
                  '<details class="nhsuk-details">\n<summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">'
                  f'All {len(options)} {escape(facet.label.lower())} options</span></summary>\n'
                  '<div class="nhsuk-details__text">\n<ul class="nhsuk-list nhsuk-body-s">\n',
                  *options[FACET_SHOWN:], "</ul>\n</div>\n</details>\n"]
    parts.append("</div>")
    return Markup("".join(parts))


def facet_option(filters, facet, option) -> Markup:  # noqa: ANN001 - Filters, Facet, FacetOption
    """One search facet option as a list item: a link that applies it, or — when it is applied —
    its name, count and a link that removes it. Written here rather than in the template
    because a search page has some 75 of them, and Jinja spent a sixth of the page's time on them.
    """
    label, count = escape(option.label), option.count
    if option.selected:
        href = escape(facet_url(filters, facet.name, None))
        return Markup(f'<li><strong>{label}</strong> ({count}) – <a href="{href}">remove<span class="nhsuk-u-visually-hidden">'
                      f' {escape(facet.label.lower())} filter</span></a></li>\n')
    href = escape(facet_url(filters, facet.name, option.value))
    noun = "entry" if count == 1 else "entries"
    return Markup(f'<li><a href="{href}">{label}</a> ({count}<span class="nhsuk-u-visually-hidden"> {noun}</span>)</li>\n')


def facet_url(filters, name: str, value: str | int | None) -> str:  # noqa: ANN001 - Filters
    """``search_url(filters, **{name: value})``: the link of one option of facet ``name``.

    Every option of a facet keeps the same other parameters, so they are put together once per
    facet and request, and each option adds only its own (in its place: links spell the
    parameters in one order).
    """
    parts = g.setdefault("kb_facet_parts", {}) if has_request_context() else {}
    key = (filters, name)
    if key not in parts:
        base = search_url(Filters())
        others = list(filters.to_args(**{name: None}).items())
        place = _ARG_ORDER[name]
        parts[key] = (base, [_parameter(k, v) for k, v in others if _ARG_ORDER[k] < place],
                      [_parameter(k, v) for k, v in others if _ARG_ORDER[k] > place])
    base, before, after = parts[key]
    own = [] if value is None or value == "" else [_parameter(name, str(value))]
    query = "&".join(before + own + after)
    return f"{base}?{query}" if query else base


@functools.lru_cache(maxsize=4096)
def _parameter(name: str, value: str) -> str:
    # What urlencode(..., safe=URL_SAFE) makes of one pair; a page repeats the same pairs in
    # most of its links, so each is quoted once.
    return f"{quote_plus(name, safe=URL_SAFE)}={quote_plus(value, safe=URL_SAFE)}"


def register_template_helpers(app: Flask) -> None:
    """Install filters and globals on ``app``'s Jinja environment."""
    app.jinja_env.filters.update(markdown=render_markdown, long_date=long_date, source_date=source_date)
    app.jinja_env.globals.update(search_url=search_url, entry_url=entry_url, facet_list=facet_list, type_tag=type_tag, entry_card=entry_card, entry_types=list(EntryType),
                                  strength_scale=strength_scale, evidence_facts=evidence_facts,
                                  strength_reason=strength_reason)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _current_path() -> dict:
        # Emails are rendered outside requests too (from the CLI, or after a commit).
        return {"current_endpoint": (request.endpoint or "") if has_request_context() else ""}
