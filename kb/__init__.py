"""The Pioneer Knowledge Base: a Flask application for sharing what works in integrating care.

:func:`create_app` only wires parts together; each part configures itself in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from kb import caching, cli, config, database, mail, search, security
from kb.extensions import csrf, db, limiter, login_manager, migrate
from kb.services import dataversion
from kb.services.accounts import load_user
from kb.views import register_blueprints
from kb.views.errors import register_error_handlers
from kb.views.templating import register_template_helpers


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Create the application. ``overrides`` replace configuration values (tests use this)."""
    instance_path = Path((overrides or {}).get("KB_INSTANCE_PATH") or config.instance_path_from_env())
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(config.PROJECT_ROOT / "templates"),
        static_folder=str(config.PROJECT_ROOT / "static"),
    )
    app.config.update(config.load(instance_path, overrides))
    instance_path.mkdir(parents=True, exist_ok=True)

    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.sign_in"
    limiter.init_app(app)
    search.init_app(app)
    dataversion.init_app(app)
    mail.init_app(app)
    register_template_helpers(app)
    register_blueprints(app)
    register_error_handlers(app)
    security.init_app(app)
    caching.init_app(app)  # after security: its path check runs first, its no-store last
    cli.init_app(app)
    return app
