"""Blueprints: thin views that parse input, call one service and render."""

from flask import Flask

from kb.views import accounts, assets, entries, glossary, home, search, sites, themes


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to ``app``."""
    for module in (home, entries, sites, themes, search, glossary, accounts, assets):
        app.register_blueprint(module.bp)
