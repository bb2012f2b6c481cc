"""/search: browse and filter entries (an empty query lists everything)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from kb.services import browse
from kb.services.filters import SORTS, Filters

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    """Filtered, paginated entries.

    :raise BadRequest: (400) for a filter value that cannot be used, with a message saying why.
    :raise NotFound: (404) for a page past the end of the results.
    """
    filters = Filters.from_args(request.args)
    result = browse.browse(filters, current_user, page_size=current_app.config["KB_PAGE_SIZE"])
    return render_template(
        "search/index.html",
        result=result,
        filters=filters,
        options=browse.filter_options(current_user),
        sorts=SORTS,
    )
