"""The home page; /healthz (liveness: the app answers and its database holds the schema) and
/healthz/ready (readiness: the database and the search index are both usable)."""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, render_template
from flask_login import current_user
from sqlalchemy import select, func
from sqlalchemy.exc import SQLAlchemyError

from kb.extensions import db
from kb.models import Site
from kb.search import backend
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


@bp.get("/healthz/ready")
def ready():
    """200 ``ready`` when the database answers and the search index can be opened; otherwise 503
    with the reason in plain text (for a load balancer's log and the person reading it)."""
    problems = []
    try:
        db.session.scalar(select(func.count(Site.id)))
    except SQLAlchemyError:
        db.session.rollback()
        problems.append("database: not reachable or has no schema")
    index_problem = backend().status()
    if index_problem:
        problems.append(f"search index: {index_problem}")
    response = make_response("\n".join(problems) + "\n" if problems else "ready\n", 503 if problems else 200)
    response.mimetype = "text/plain"
    return response
