"""Public pages for readers who are not signed in: an ``ETag`` (and ``304 Not Modified``), and a
response cache keyed by the data version, so no save, publish or permission change can ever be
answered with a page from before it, and no page meant for one person reaches another.

What is cached
  ``GET`` requests for the endpoints in :data:`CACHEABLE_ENDPOINTS` — the home page, sites,
  themes, entries and the glossary; never search (every query differs), never a private page.
  Only ``200`` HTML answers are stored: no error page, no redirect, nothing that sets a cookie
  (the check is made on the finished response, after the session has been saved), nothing with
  ``Cache-Control: no-store``, nothing larger than ``KB_CACHE_ITEM_KB``.

Who is served from it
  A reader whose session holds nothing but a CSRF token (no sign-in, no flashed message; see
  :data:`HARMLESS_SESSION_KEYS`) and who sends no remember-me cookie. Pages are *stored* only from
  requests with no session cookie at all, so no page holding anyone's token or message can be
  stored. Everyone else — signed in or
  carrying a message — is rendered afresh and, as before, gets ``Cache-Control: no-store``
  (:mod:`kb.security`).

The key
  The data version (:func:`kb.services.dataversion.current`, one primary-key ``SELECT`` per
  request and the only query a cached page costs), a fingerprint of the code, templates and
  glossary this process renders with, and the request's method, scheme, host, path and query
  string. The version is read in the request's own transaction before the view reads anything,
  so a page rendered after a change can only be stored under that change's version or a later
  one's — never the other way round. (On PostgreSQL a page may be newer than its version, which
  is harmless: it is never older than what its key promises.) The search index is written just
  after a commit, so a page is only stored when the index has caught up (its queue is empty):
  an entry's similar entries, which come from the index, are as new as the rest of the page.

Browsers
  Public pages carry ``Cache-Control: no-cache`` (store, but ask every time), ``Vary: Cookie``
  and a strong ``ETag`` of the body; a matching ``If-None-Match`` gets ``304`` with no body.

Storage
  Flask-Caching, chosen by ``KB_CACHE_TYPE``: ``simple`` (default: in each process's memory,
  bounded by ``KB_CACHE_MB`` and ``KB_CACHE_ITEMS``), ``filesystem`` (``instance/page-cache``,
  shared by a machine's workers; what ``gunicorn.conf.py`` chooses for ``make run``), ``redis`` (``KB_CACHE_REDIS_URL``, shared by machines; needs
  the ``redis`` package) or ``none``. A shared store is emptied when a process starts, so a
  database restored or rebuilt under a running server is served correctly after a restart.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request, request_finished, session
from flask_caching.backends import SimpleCache
from sqlalchemy import select

from kb.config import PROJECT_ROOT
from kb.extensions import cache, db
from kb.models import IndexQueueItem
from kb.services import dataversion

# The public pages: the same for every reader who is not signed in.
CACHEABLE_ENDPOINTS = frozenset({
    "home.index",
    "sites.index",
    "sites.show",
    "themes.index",
    "themes.show",
    "entries.show",
    "glossary.index",
})
# What a reader's session may hold and still be served a stored page: Flask-WTF's token, and the
# freshness flag Flask-Login leaves when it found nobody signed in.
HARMLESS_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})
# Headers a stored page keeps; everything else (security headers, request id) is added anew.
KEPT_HEADERS = ("Content-Type", "ETag", "Cache-Control", "Vary")

BACKENDS = {
    "simple": "kb.caching.BoundedSimpleCache",
    "filesystem": "FileSystemCache",
    "redis": "RedisCache",
    "none": "NullCache",
}
STATE = "kb_page_cache"  # flask.g: this request's _Page, if it is a public page for a reader


class _SizedDict(dict):
    """A dict that keeps the total length of its values' payloads (``(expires, bytes)`` pairs)."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def __setitem__(self, key: str, value: tuple[float, bytes]) -> None:
        self.pop(key, None)
        super().__setitem__(key, value)
        self.size += len(value[1])

    def pop(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        value = super().pop(key)
        self.size -= len(value[1])
        return value

    def clear(self) -> None:
        super().clear()
        self.size = 0


class BoundedSimpleCache(SimpleCache):
    """cachelib's thread-safe in-memory cache, bounded in bytes as well as in items: when either
    bound is passed, expired items go first, then those that expire soonest."""

    def __init__(self, threshold: int = 500, default_timeout: int = 300, max_bytes: int = 64 << 20,
                 **kwargs: Any) -> None:
        super().__init__(threshold=threshold, default_timeout=default_timeout, **kwargs)
        self._cache = _SizedDict()
        self.max_bytes = max_bytes

    def _over_threshold(self) -> bool:
        return len(self._cache) > self._threshold or self._cache.size > self.max_bytes

    def set(self, key: str, value: Any, timeout: Any = None) -> bool | None:
        stored = super().set(key, value, timeout)
        with self._lock:  # the item just added may itself have passed a bound
            self._prune()
        return stored

    @property
    def size(self) -> int:
        """Bytes held (pickled pages)."""
        return self._cache.size

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> BoundedSimpleCache:
        """Flask-Caching's constructor hook."""
        return cls(*args, threshold=config["CACHE_THRESHOLD"], max_bytes=config["KB_CACHE_MB"] << 20, **kwargs)


@dataclass
class _Page:
    """What this request needs at the end: the key to store under (``None``: do not store) and
    the page to store once the finished response proves it sets no cookie."""

    key: str | None
    hit: bool = False
    stored: dict[str, Any] | None = None


@functools.cache
def _code_digest(templates: Path) -> str:
    # Contents, not modification times, so that every machine sharing a cache agrees. Once per
    # process: the code does not change under a running process.
    digest = hashlib.sha256()
    for folder, pattern in ((PROJECT_ROOT / "kb", "*.py"), (templates, "*")):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                digest.update(f"{path.relative_to(folder)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _fingerprint(app: Flask) -> str:
    """A digest of what pages are rendered with besides the database: code, templates, the
    glossary file and the settings that change pages. A shared cache is never read across a
    deployment that changed any of them."""
    digest = hashlib.sha256(_code_digest(Path(app.template_folder or "")).encode())
    glossary = Path(app.config["KB_GLOSSARY_FILE"])
    digest.update(glossary.read_bytes() if glossary.is_file() else b"-")
    digest.update(repr([app.config.get(name) for name in ("KB_BASE_URL", "KB_PAGE_SIZE")]).encode())
    return digest.hexdigest()[:16]


def _anonymous_reader() -> bool:
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return set(session.keys()) <= HARMLESS_SESSION_KEYS


def _key(version: int) -> str:
    target = "\0".join([request.method, request.scheme, request.host, request.path,
                        request.query_string.decode("latin-1")])
    fingerprint = current_app.extensions["kb.caching"]
    return f"page:{fingerprint}:{version}:{hashlib.sha256(target.encode()).hexdigest()}"


def _serve_stored() -> Response | None:
    """Before the view: a stored page for an anonymous reader, or nothing (and notes for later)."""
    if request.method != "GET" or request.endpoint not in CACHEABLE_ENDPOINTS or not _anonymous_reader():
        return None
    if not current_app.config["KB_CACHE_ENABLED"]:
        g.setdefault(STATE, _Page(key=None))
        return None
    version = dataversion.current()
    key = _key(version) if version else None  # 0: no data version yet (database not migrated)
    page = _Page(key=key)
    g.setdefault(STATE, page)
    stored = cache.get(key) if key else None
    if stored is None:
        if current_app.config["SESSION_COOKIE_NAME"] in request.cookies or _index_behind():
            page.key = None  # render, but do not store
        return None
    page.hit = True
    response = Response(stored["body"], status=200, headers=stored["headers"])
    return response.make_conditional(request)


def _index_behind() -> bool:
    """Whether some committed change has not reached the search index yet.

    Entry pages list similar entries from the index, which is written just after a commit
    (:mod:`kb.search.indexing`). Queue rows are committed with the change and deleted only once
    the index holds it, so an empty queue — read after the data version — means the index is at
    least as new as that version, and the page may be stored under it.
    """
    return db.session.scalar(select(IndexQueueItem.id).limit(1)) is not None


def _conditional(response: Response) -> Response:
    """After the view: ``Cache-Control``, ``Vary``, ``ETag`` and ``304`` on a public page, and the
    page set aside for storing."""
    page: _Page | None = g.get(STATE)
    if page is None or page.hit:
        return response
    if response.status_code != 200 or response.mimetype != "text/html" or response.is_streamed \
            or response.direct_passthrough:
        return response
    response.headers.setdefault("Cache-Control", "no-cache")
    response.vary.add("Cookie")
    response.add_etag()
    body = response.get_data()
    if page.key and not session.modified and len(body) <= current_app.config["KB_CACHE_ITEM_KB"] * 1024:
        headers = [(name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers]
        page.stored = {"body": body, "headers": headers}
    return response.make_conditional(request)


def _store(sender: Flask, response: Response, **_extra: Any) -> None:
    """Once the response is final (session saved): store the page unless it sets a cookie."""
    page: _Page | None = g.get(STATE)
    if page is None or page.stored is None or page.key is None:
        return
    if "Set-Cookie" in response.headers or "no-store" in response.headers.get("Cache-Control", ""):
        return
    cache.set(page.key, page.stored)


def init_app(app: Flask) -> None:
    """Serve public pages from the cache and add ``ETag``/``304`` (call after :mod:`kb.security`,
    whose path check must run first and whose ``no-store`` must apply after these hooks)."""
    kind = app.config["KB_CACHE_TYPE"]
    if kind not in BACKENDS:
        raise ValueError(f"KB_CACHE_TYPE must be one of {', '.join(BACKENDS)}, not {kind!r}")
    app.config.update(
        CACHE_TYPE=BACKENDS[kind],
        CACHE_NO_NULL_WARNING=True,
        CACHE_DEFAULT_TIMEOUT=app.config["KB_CACHE_SECONDS"],
        CACHE_THRESHOLD=app.config["KB_CACHE_ITEMS"],
        CACHE_DIR=str(app.config["KB_CACHE_DIR"]),
        CACHE_REDIS_URL=app.config["KB_CACHE_REDIS_URL"],
        CACHE_KEY_PREFIX="kb:",
        KB_CACHE_ENABLED=kind != "none",
    )
    cache.init_app(app)
    app.extensions["kb.caching"] = _fingerprint(app)
    if kind in ("filesystem", "redis"):
        with app.app_context():
            cache.clear()
    app.before_request(_serve_stored)
    app.after_request(_conditional)
    request_finished.connect(_store, app)
