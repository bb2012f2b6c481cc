"""Entry pages."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import Length

from kb.models import BCF_MEASURES
from kb.services import entries, review, search
from kb.services.permissions import entry_actions
from kb.views.forms import Form
from kb.views.revisions import iso, when
from kb.views.templating import render_markdown

bp = Blueprint("entries", __name__, url_prefix="/entries")
# Entry bodies kept rendered per process: Markdown and sanitising cost more than the rest of an
# entry page's own work (~10 ms for a 1,000-word body). 1,024 bodies are ~16 MB.
RENDERED_BODIES = 1024


@bp.get("/")
def index():
    """Entries are listed by the browse page; send readers there."""
    return redirect(url_for("search.index"))


class ReviewNoteForm(Form):
    """The note sent with "Submit for review" (the form on the "Check your entry" page)."""

    note = TextAreaField("Note to the site's leads (optional)", validators=[
        Length(max=1000, message="The note to the site's leads must be 1000 characters or fewer")])


@bp.get("/<slug>")
def show(slug: str):
    """An entry with its themes, evidence summary, sources and related entries; for the
    people who work on it, its status and the workflow steps they may take.

    :raise NotFound: (404) if it does not exist or the reader may not see it.
    """
    return entry_page(slug)


def entry_page(slug: str, *, return_form: Any = None, status: int = 200) -> Any:
    """The entry's page (``return_form``: a refused note to the editor, shown with its message);
    for its editors and leads while it is in review, who submitted it and why (``review``), and
    while it is a returned draft, who returned it and why (``returned``)."""
    entry = entries.get_visible_entry(slug, current_user)
    return render_template(
        "entries/show.html",
        entry=entry,
        body_html=body_html(entry.body),
        related=entries.related_entries(entry, current_user),
        similar=search.similar_entries(entry, current_user),
        bcf_measures=BCF_MEASURES,
        actions=entry_actions(current_user, entry),
        return_form=return_form,
        review=review.review_context(current_user, entry),
        returned=review.return_note(current_user, entry),
        when=when,
        iso=iso,
    ), status


def body_html(body: str | None) -> Markup:
    """``body`` as sanitised HTML (:func:`kb.views.templating.render_markdown`), rendered once per
    process for each distinct body text: keyed by the text itself, so a saved change can never
    be shown stale, and two entries with the same body share one rendering."""
    return _rendered(body or "", current_app.config["KB_BASE_URL"])


@lru_cache(maxsize=RENDERED_BODIES)
def _rendered(body: str, base_url: str) -> Markup:
    # The site's address is in the key: render_markdown marks links to any other host as external.
    return render_markdown(body)
