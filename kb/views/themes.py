"""Themes index (by group) and theme pages (enablers beside barriers, each side paged)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from kb.services import themes
from kb.services.browse import page_number

bp = Blueprint("themes", __name__, url_prefix="/themes")


@bp.get("/")
def index():
    """Every theme in its group, with enabler and barrier counts."""
    return render_template("themes/index.html", groups=themes.themes_by_group(current_user))


@bp.get("/<slug>")
def show(slug: str):
    """What enabled and what got in the way for one theme, ``?enablers_page=`` and
    ``?barriers_page=`` choosing each side's page. :raise NotFound: (404) for an unknown theme or
    a page past a side's end. :raise BadRequest: (400) for a page that is not a number."""
    enablers_page = page_number(request.args, "enablers_page")
    barriers_page = page_number(request.args, "barriers_page")
    theme = themes.get_theme(slug)
    sides = themes.theme_sides(theme, current_user, enablers_page, barriers_page)
    return render_template("themes/show.html", theme=theme, sides=sides)
