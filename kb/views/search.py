"""/search: full-text search and browsing (an empty query lists everything)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_login import current_user

from kb.services import search as search_service
from kb.services.filters import SORTS, Filters
from kb.views.templating import search_url

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    """Search results with facets, highlights and pagination.

    Filters typed into the search box (``site:sheffield``) are moved into their own URL
    parameters by a redirect, so every active filter has the same "remove" link.

    :raise BadRequest: (400) for a query or filter value that cannot be used, saying why.
    :raise NotFound: (404) for a page past the end of the results.
    """
    filters = Filters.from_args(request.args)
    if filters.typed:
        return redirect(search_url(filters))
    page = search_service.search(filters, current_user, page_size=current_app.config["KB_PAGE_SIZE"])
    return render_template("search/index.html", result=page, filters=filters, sorts=SORTS)
