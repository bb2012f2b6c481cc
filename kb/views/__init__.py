"""Blueprints: thin views that parse input, call one service and render."""

from flask import Flask

from kb.views import accounts, admin, assets, authoring, entries, glossary, home, revisions, search, sites, themes, users


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to ``app``."""
    # authoring and revisions come before entries: /entries/new must not be taken for a slug.
    for module in (home, authoring, revisions, entries, sites, themes, search, glossary, accounts, users, admin, assets):
        app.register_blueprint(module.bp)
