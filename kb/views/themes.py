"""Themes index (by group) and theme pages (enablers beside barriers)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from kb.services import themes

bp = Blueprint("themes", __name__, url_prefix="/themes")


@bp.get("/")
def index():
    """Every theme in its group, with enabler and barrier counts."""
    return render_template("themes/index.html", groups=themes.themes_by_group(current_user))


@bp.get("/<slug>")
def show(slug: str):
    """What enabled and what got in the way for one theme. :raise NotFound: (404)."""
    theme = themes.get_theme(slug)
    return render_template("themes/show.html", theme=theme, sides=themes.theme_sides(theme, current_user))
