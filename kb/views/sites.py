"""Sites index (by wave) and site profiles."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from kb.services import entries, sites
from kb.services.permissions import can_create_entry, can_manage_editors

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.get("/")
def index():
    """Every site, grouped by wave."""
    return render_template("sites/index.html", groups=sites.sites_by_wave())


@bp.get("/<slug>")
def show(slug: str):
    """A site's profile, its entries and its theme profile. :raise NotFound: (404)."""
    site = sites.get_site(slug)
    site_entries = entries.entries_for_site(site, current_user)
    return render_template(
        "sites/show.html",
        site=site,
        own_entries=[e for e in site_entries if e.site_id == site.id],
        involved_entries=[e for e in site_entries if e.site_id != site.id],
        profile=sites.theme_profile(site, current_user),
        can_add_entry=can_create_entry(current_user, site),
        can_manage_people=can_manage_editors(current_user, site),
    )
