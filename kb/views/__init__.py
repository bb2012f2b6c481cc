"""Blueprints: thin views that parse input, call one service and render."""

from flask import Flask
from werkzeug.routing import IntegerConverter

from kb.views import (accounts, admin, assets, authoring, digests, entries, feeds, glossary, home, pages, revisions,
                      search, sites, subscriptions, themes, users)

# The largest value of an Integer column on PostgreSQL (and so of every id and revision number).
MAX_ROUTE_INT = 2**31 - 1


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every route: at most 10 digits and :data:`MAX_ROUTE_INT`, so a number no
    row can have (2**63, say, which SQLite cannot even be asked about) is a 404, never a 500."""

    regex = r"\d{1,10}"

    def __init__(self, map, *args, **kwargs):  # noqa: ANN001, A002 - Werkzeug's signature
        kwargs.setdefault("max", MAX_ROUTE_INT)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to ``app`` (with bounded ``int`` route numbers)."""
    app.url_map.converters["int"] = BoundedInt
    # authoring and revisions come before entries: /entries/new must not be taken for a slug.
    for module in (home, authoring, revisions, entries, sites, themes, search, glossary, accounts, users, admin, assets,
                   feeds, subscriptions, digests, pages):
        app.register_blueprint(module.bp)
    app.register_blueprint(digests.admin_bp)
