"""The home page, and /healthz for load balancers and ``make run``'s readiness check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import select, func
from sqlalchemy.exc import SQLAlchemyError

from kb.extensions import db
from kb.models import Site
from kb.services import entries, sites, themes

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """What the network is, the latest entries, themes with counts, and sites by wave."""
    return render_template(
        "home/index.html",
        latest=entries.latest_entries(current_user, limit=6),
        counts=entries.count_visible(current_user),
        theme_groups=themes.themes_by_group(current_user),
        site_groups=sites.sites_by_wave(),
    )


@bp.get("/healthz")
def healthz():
    """200 once the database answers and holds the schema; 503 otherwise."""
    try:
        db.session.scalar(select(func.count(Site.id)))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="not ready"), 503
    return jsonify(status="ok", database="ok")
