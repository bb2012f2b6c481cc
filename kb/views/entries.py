"""Entry pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from kb.models import BCF_MEASURES
from kb.services import entries, search
from kb.services.permissions import entry_actions

bp = Blueprint("entries", __name__, url_prefix="/entries")


@bp.get("/")
def index():
    """Entries are listed by the browse page; send readers there."""
    return redirect(url_for("search.index"))


@bp.get("/<slug>")
def show(slug: str):
    """An entry with its themes, evidence summary, sources and related entries; for the
    people who work on it, its status and the workflow steps they may take.

    :raise NotFound: (404) if it does not exist or the reader may not see it.
    """
    entry = entries.get_visible_entry(slug, current_user)
    return render_template(
        "entries/show.html",
        entry=entry,
        related=entries.related_entries(entry, current_user),
        similar=search.similar_entries(entry, current_user),
        bcf_measures=BCF_MEASURES,
        actions=entry_actions(current_user, entry),
    )
