"""Atom 1.0 and RSS 2.0 feeds of entries: all of them, a site's, a theme's, a type's, any search's.

Every feed is a search: :class:`FeedSource` turns what a feed URL names into the same
:class:`~kb.services.filters.Filters` the search page uses, and :func:`feed_entries` asks the
search service (:func:`kb.services.search.search`) for the newest :data:`FEED_LIMIT` matches the
reader may read, so visibility and filters are one piece of code for pages and feeds alike. The
entries are then read from the database and checked again with
:func:`~kb.services.permissions.can_view_entry`.

Each feed entry has
  * an id that no edit changes: ``tag:<host>,<creation date>:entry/<id>`` (RFC 4151);
  * ``published`` — the published date (with the time of publication when the entry was
    published on the web that day) — and ``updated``, the time of its latest *material* change:
    revisions saved as minor edits do not move it (:func:`entry_times`);
  * the site as author, each theme tag as a category (``<theme>/<enabler|barrier>``), the type
    as a category, the summary, and the body as sanitised HTML (:func:`kb.markdown.render`)
    with every link absolute under ``KB_BASE_URL``.

Anything in a title, summary, body or name may hold characters XML 1.0 cannot carry (control
characters): they are removed (:func:`xml_text`); everything else is escaped by feedgen.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import current_app
from flask_login import AnonymousUserMixin
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb import markdown
from kb.extensions import cache, db
from kb.links import absolute_url
from kb.models import Entry, EntryType, IndexQueueItem, Revision, Site, Theme, ThemeTag
from kb.services import dataversion
from kb.services import search as search_service
from kb.services.errors import NotFound
from kb.services.filters import Filters
from kb.services.permissions import can_view_entry

FEED_LIMIT = 50
RENDERED_BODIES = 512  # entry bodies kept rendered per process (Markdown costs most of a feed)
FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
SITE_NAME = "Pioneer Knowledge Base"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # a feed with no entries was "updated" then
# Characters XML 1.0 does not allow (C0 controls but tab, LF, CR; surrogates; U+FFFE/U+FFFF), and
# the C1 controls, which it allows but no reader wants.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_RELATIVE = re.compile(r'(\s(?:href|src))="/(?!/)')


def xml_text(value: Any) -> str:
    """``value`` as text XML 1.0 can carry: characters it cannot are removed."""
    return _NOT_XML.sub("", str(value or ""))


@dataclass(frozen=True)
class FeedSource:
    """What one feed lists (``filters``), what it is called, and the page it mirrors.

    ``endpoint`` and ``values`` name the feed's own route (``feeds.site``, ``{"slug": …}``),
    ``page_endpoint`` and ``page_values`` the HTML listing it follows, whose address is the
    feed's "alternate" link: the full list, past the feed's :data:`FEED_LIMIT`.
    """

    filters: Filters
    title: str
    endpoint: str
    values: Mapping[str, str]
    page_endpoint: str
    page_values: Mapping[str, str]


def everything() -> FeedSource:
    """All published entries."""
    return FeedSource(Filters(), "All entries", "feeds.entries", {}, "search.index", {})


def for_site(slug: str) -> FeedSource:
    """A site's entries (main or other site), as its page lists them. :raise NotFound: unknown site."""
    site = db.session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        raise NotFound("There is no site at this address.")
    return FeedSource(Filters(site=slug), f"Entries from {site.name}", "feeds.site", {"slug": slug},
                      "sites.show", {"slug": slug})


def for_theme(slug: str, args: Mapping[str, str]) -> FeedSource:
    """A theme's entries, optionally only where it was an enabler or a barrier (``?polarity=``).

    :raise NotFound: unknown theme. :raise BadRequest: a polarity that is neither.
    """
    theme = db.session.scalar(select(Theme).where(Theme.slug == slug))
    if theme is None:
        raise NotFound("There is no theme at this address.")
    polarity = Filters.from_args({"polarity": args.get("polarity", "")}).polarity
    values = {"slug": slug, **({"polarity": polarity} if polarity else {})}
    where = {"enabler": " where it was an enabler", "barrier": " where it was a barrier"}.get(polarity or "", "")
    return FeedSource(Filters(theme=slug, polarity=polarity), f"{theme.name}{where}", "feeds.theme", values,
                      "search.index" if polarity else "themes.show",
                      {"theme": slug, "polarity": polarity} if polarity else {"slug": slug})


def for_type(type_value: str) -> FeedSource:
    """Entries of one type. :raise NotFound: not a type."""
    try:
        entry_type = EntryType(type_value)
    except ValueError:
        raise NotFound("There is no such type of entry.") from None
    return FeedSource(Filters(type=entry_type.value), f"{entry_type.label} entries", "feeds.type",
                      {"type": entry_type.value}, "search.index", {"type": entry_type.value})


def for_search(args: Mapping[str, str]) -> FeedSource:
    """Any search or browse, from exactly the parameters of ``/search`` (``page`` and ``sort``
    are accepted and ignored: a feed is always the newest entries).

    :raise BadRequest: for any parameter /search would refuse, with the same message.
    """
    filters = Filters.from_args(args)
    values = filters.to_args(page=1, sort="")
    return FeedSource(filters, _search_title(filters), "feeds.search", values, "search.index", values)


def _search_title(filters: Filters) -> str:
    parts = [f"“{filters.q}”"] if filters.q else []
    parts += [f"{name} {value}" for name, value in filters.to_args(q="", page=1, sort="").items()]
    return "Search: " + ", ".join(parts) if parts else "All entries"


# --- entries ----------------------------------------------------------------------------------


def feed_entries(filters: Filters, reader: Any, limit: int = FEED_LIMIT) -> tuple[list[Entry], int]:
    """The newest ``limit`` entries matching ``filters`` that ``reader`` may read, newest first,
    and how many match in all. Through the search service, so the search page's rules apply.

    :raise BadRequest: if the filters name a site or theme that does not exist.
    """
    page = search_service.search(dataclasses.replace(filters, sort="newest", page=1), reader, page_size=limit)
    slugs = [result.entry.slug for result in page.results]
    if not slugs:
        return [], page.total
    loaded = {e.slug: e for e in db.session.scalars(
        select(Entry).where(Entry.slug.in_(slugs))
        .options(selectinload(Entry.site), selectinload(Entry.theme_tags).selectinload(ThemeTag.theme)))}
    entries = [loaded[s] for s in slugs if s in loaded and can_view_entry(reader, loaded[s])]
    return entries, page.total


def _aware(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def published_time(entry: Entry) -> datetime:
    """When ``entry`` was published: its published date, at the time it was published on the
    web if that was the same day (imported entries have only the date)."""
    if entry.published_at is not None and (entry.published_on is None
                                           or _aware(entry.published_at).date() == entry.published_on):
        return _aware(entry.published_at)
    return _midnight(entry.published_on) if entry.published_on else _aware(entry.created_at)


def entry_times(entries: Iterable[Entry]) -> dict[int, tuple[datetime, datetime]]:
    """``{entry id: (published, updated)}``, where ``updated`` is the latest of: the published
    time, the ``updated`` date the entry records, and the time of its latest material revision.

    Revisions saved as minor edits do not count, nor does an entry's first revision (its
    creation, or the import that brought it in, which is not an update of what was published).
    One query for all of ``entries``.
    """
    entries = list(entries)
    ids = [e.id for e in entries]
    latest = dict(db.session.execute(
        select(Revision.entry_id, func.max(Revision.created_at))
        .where(Revision.entry_id.in_(ids), Revision.minor.is_(False), Revision.number > 1)
        .group_by(Revision.entry_id)).all()) if ids else {}
    times = {}
    for entry in entries:
        published = published_time(entry)
        candidates = [published]
        if entry.updated_on:
            candidates.append(_midnight(entry.updated_on))
        if latest.get(entry.id) is not None:
            candidates.append(_aware(latest[entry.id]))
        times[entry.id] = (published, max(candidates))
    return times


def entries_changed_since(filters: Filters, reader: Any, since: datetime,
                          limit: int = FEED_LIMIT) -> list[tuple[Entry, datetime, datetime]]:
    """``(entry, published, updated)`` for the entries among the newest ``limit`` matching
    ``filters`` that ``reader`` may read and that were published or materially updated after
    ``since`` — what a feed reader polling at ``since`` would see as new or changed."""
    entries, _total = feed_entries(filters, reader, limit)
    times = entry_times(entries)
    since = _aware(since)
    return [(e, *times[e.id]) for e in entries if times[e.id][1] > since]


def material_changes(entry_ids: Iterable[int], since: datetime) -> dict[int, list[str]]:
    """``{entry id: [edit summaries]}`` of the material (not minor) revisions saved after
    ``since``, oldest first — what changed, in the editors' words. One query."""
    ids = list(entry_ids)
    changes: dict[int, list[str]] = {}
    if not ids:
        return changes
    rows = db.session.execute(
        select(Revision.entry_id, Revision.summary)
        .where(Revision.entry_id.in_(ids), Revision.minor.is_(False), Revision.number > 1,
               Revision.created_at > since)
        .order_by(Revision.entry_id, Revision.number))
    for entry_id_, summary in rows:
        changes.setdefault(entry_id_, []).append(summary)
    return changes


def entry_id(entry: Entry) -> str:
    """The entry's feed id: a tag URI (RFC 4151) of its database id and creation date, which no
    edit, move or change of slug alters."""
    host = urlsplit(current_app.config["KB_BASE_URL"]).hostname or "localhost"
    return f"tag:{host},{_aware(entry.created_at).date().isoformat()}:entry/{entry.id}"


# --- the document -----------------------------------------------------------------------------


def public_feed(source: FeedSource, fmt: str) -> FeedDocument:
    """``source`` rendered for an anonymous reader (what a public feed URL shows everyone), kept
    in the stored-page cache (:mod:`kb.caching`'s store, ``KB_CACHE_TYPE``) under the data version.

    As with stored pages: the version is read before anything else, so a document is never older
    than its key says; nothing is stored while the search index is behind the database (its
    queue is not empty), nor anything larger than ``KB_CACHE_ITEM_KB``. Private feeds are never
    stored (call :func:`render_feed` for them).
    """
    if not current_app.config.get("KB_CACHE_ENABLED"):
        return render_feed(source, AnonymousUserMixin(), fmt)
    version = dataversion.current()
    key = None
    if version:  # 0: no data version yet (database not migrated)
        target = repr((source.endpoint, sorted(source.values.items()), fmt)).encode()
        key = f"feed:{current_app.extensions['kb.caching']}:{version}:{hashlib.sha256(target).hexdigest()}"
        stored = cache.get(key)
        if stored is not None:
            return FeedDocument(**stored)
    document = render_feed(source, AnonymousUserMixin(), fmt)
    if key and len(document.body) <= current_app.config["KB_CACHE_ITEM_KB"] * 1024 \
            and db.session.scalar(select(IndexQueueItem.id).limit(1)) is None:
        cache.set(key, dataclasses.asdict(document))
    return document


@dataclass(frozen=True)
class FeedDocument:
    """A rendered feed: its bytes, media type, ``ETag`` (a digest of the bytes) and the time of
    its newest change (``Last-Modified``)."""

    body: bytes
    mimetype: str
    etag: str
    updated: datetime


def render_feed(source: FeedSource, reader: Any, fmt: str, *, token: str | None = None) -> FeedDocument:
    """``source`` as an Atom (``fmt="atom"``) or RSS 2.0 (``"rss"``) document for ``reader``.

    ``token``: the private feed token the URL carries (its links keep it); ``None`` for a
    public feed, which must then be rendered for an anonymous ``reader``.

    :raise BadRequest: for filters naming a site or theme that does not exist.
    """
    if fmt not in FORMATS:
        raise NotFound("Feeds are Atom (.atom) or RSS (.rss).")
    entries, total = feed_entries(source.filters, reader)
    times = entry_times(entries)
    entries.sort(key=lambda e: (times[e.id][0], e.id), reverse=True)  # newest first, ties stable
    updated = max((times[e.id][1] for e in entries), default=EPOCH)
    page_url = absolute_url(source.page_endpoint, **{k: v for k, v in source.page_values.items() if v})
    private = {"token": token} if token else {}
    public_self = absolute_url(source.endpoint, fmt=fmt, **source.values)

    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)  # RSS's <author> must be an email: dc:creator names the site
    feed.id(public_self + ("#members" if token else ""))
    feed.title(xml_text(f"{SITE_NAME}: {source.title}" + (" (members' feed)" if token else "")))
    shown = (f"The newest {len(entries)} of {total} entries" if total > len(entries)
             else f"{total} {'entry' if total == 1 else 'entries'}")
    feed.subtitle(xml_text(f"{shown}. All of them: {page_url}"))
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.link(href=absolute_url(source.endpoint, fmt=fmt, **private, **source.values), rel="self",
              type=FORMATS[fmt])
    feed.author({"name": SITE_NAME, "uri": absolute_url("home.index")})
    feed.generator(SITE_NAME, uri=absolute_url("home.index"))
    feed.language("en-GB")
    feed.updated(updated)
    url = functools.lru_cache(maxsize=None)(absolute_url)  # this feed's links: each built once
    for entry in entries:
        _add_entry(feed, entry, *times[entry.id], url)
    body = feed.atom_str(pretty=True) if fmt == "atom" else feed.rss_str(pretty=True)
    return FeedDocument(body, FORMATS[fmt], hashlib.sha256(body).hexdigest()[:32], updated)


def _add_entry(feed: FeedGenerator, entry: Entry, published: datetime, updated: datetime,
               url: Callable[..., str]) -> None:
    link = url("entries.show", slug=entry.slug)
    item = feed.add_entry(order="append")
    item.id(entry_id(entry))
    item.guid(entry_id(entry), permalink=False)
    item.title(xml_text(entry.title))
    item.link(href=link, rel="alternate", type="text/html")
    item.published(published)
    item.updated(updated)
    if entry.site is not None:
        author = {"name": xml_text(entry.site.name), "uri": url("sites.show", slug=entry.site.slug)}
    else:
        author = {"name": SITE_NAME, "uri": url("home.index")}
    item.author(author)
    item.dc.dc_creator(author["name"])
    item.category(term=entry.type.value, label=entry.type.label, scheme=url("search.index"))
    for tag in entry.theme_tags:
        item.category(term=f"{tag.theme.slug}/{tag.polarity.value}",
                      label=xml_text(f"{tag.theme.name}: {tag.polarity.label.lower()}"),
                      scheme=url("themes.index"))
    item.summary(xml_text(entry.summary))
    item.content(xml_text(_content_html(entry)), type="html")


@functools.lru_cache(maxsize=RENDERED_BODIES)
def _rendered(body: str, base_url: str) -> str:
    # The site's address is in the key: it decides which links are external, and makes them absolute.
    host = urlsplit(base_url).hostname
    html = markdown.render(xml_text(body), frozenset({host}) if host else frozenset())
    return _RELATIVE.sub(lambda m: f'{m.group(1)}="{base_url.rstrip("/")}/', html)


def _content_html(entry: Entry) -> str:
    """The entry's body as sanitised HTML, followed by its themes and their notes; links absolute."""
    base = current_app.config["KB_BASE_URL"].rstrip("/")
    body = _rendered(entry.body or "", base)
    if entry.theme_tags:
        items = "".join(
            f"<li>{escape(t.polarity.label)}: {escape(t.theme.name)}"
            f"{' — ' + str(escape(t.note)) if t.note else ''}</li>" for t in entry.theme_tags)
        body += f"<h2>Themes</h2><ul>{items}</ul>"
    return body
