"""Sites index (by wave) and site profiles (their entries paged)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from kb.services import dataversion, sites
from kb.services.browse import page_number
from kb.services.permissions import can_create_entry, can_manage_editors
from kb.views.templating import render_markdown

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.get("/")
def index():
    """Every site, grouped by wave."""
    return render_template("sites/index.html", groups=sites.sites_by_wave())


@bp.get("/<slug>")
def show(slug: str):
    """A site's profile, its entries (``?page=``), other entries that involve it
    (``?involved_page=``) and its theme profile. :raise NotFound: (404) for an unknown site or a
    page past a list's end. :raise BadRequest: (400) for a page that is not a number."""
    own_page = page_number(request.args, "page")
    involved_page = page_number(request.args, "involved_page")
    site = sites.get_site(slug)
    # Rendering a profile's Markdown costs more than the rest of the page: once per data version.
    profile_html = dataversion.memo(("site-profile-html", site.id), lambda: render_markdown(site.profile))
    return render_template(
        "sites/show.html",
        site=site,
        profile_html=profile_html,
        own=sites.site_entries(site, current_user, own_page),
        involved=sites.site_entries(site, current_user, involved_page, involved=True),
        profile=sites.theme_profile(site, current_user),
        can_add_entry=can_create_entry(current_user, site),
        can_manage_people=can_manage_editors(current_user, site),
    )
