"""Full-text search: the :class:`~kb.search.backend.SearchBackend` seam and its Whoosh backend.

:func:`init_app` builds the configured backend, keeps it in ``app.extensions["kb.search"]``
and registers the session hooks that keep the index in step with the database.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_sqlalchemy.session import Session as FlaskSession

from kb.search.backend import SearchBackend
from kb.search.glossary import Glossary, load_items
from kb.search.indexing import register_session_hooks
from kb.search.whoosh_backend import WhooshBackend
from kb.search.whoosh_index import IndexStore
from kb.search.whoosh_query import analyse


def init_app(app: Flask) -> None:
    """Create the search backend for ``app``.

    :raise GlossaryError: if ``content/glossary.yml`` cannot be used (the message says why).
    """
    glossary = Glossary.build(load_items(app.config["KB_GLOSSARY_FILE"]), analyse)
    store = IndexStore(app.config["KB_INDEX_DIR"])
    cache_bytes = app.config.get("KB_SEARCH_CACHE_MB", 1024) * 1024 * 1024
    app.extensions["kb.search"] = WhooshBackend(store, glossary, cache_bytes=cache_bytes)
    register_session_hooks(FlaskSession)


def backend() -> SearchBackend:
    """The current application's search backend."""
    return current_app.extensions["kb.search"]


def glossary() -> Glossary:
    """The current application's glossary."""
    return current_app.extensions["kb.search"].glossary
