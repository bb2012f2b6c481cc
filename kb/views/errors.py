"""Error pages: friendly, no tracebacks, the status code the error deserves — and never a
second failure.

Before rendering, every handler rolls the database session back: the error may have left it
in a failed transaction (PostgreSQL then refuses every query, and the page's own query for the
signed-in person would fail with ``PendingRollbackError``). If rendering the page fails all the
same (the database is down, a template is broken), a plain page with the same status is sent
instead. Either way the response passes through the app's ``after_request`` hooks, so it
carries the security headers (:mod:`kb.security`, which also adds them to anything that
escapes Flask altogether).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template
from markupsafe import escape
from werkzeug.exceptions import HTTPException, SecurityError

from kb.extensions import db
from kb.services.errors import ServiceError

log = logging.getLogger(__name__)

_TITLES = {
    400: "There is a problem with this request",
    403: "You do not have permission to do this",
    404: "Page not found",
    405: "This address does not accept that kind of request",
    413: "What you sent is too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
}

PLAIN_PAGE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{message}<p><a href="/">Go to the home page</a></p></body></html>
"""


UNTRUSTED_HOST = "This site does not answer to the host name in this request."


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection must not stop the error page
        log.exception("Could not roll back the database session before an error page")


def plain_page(status: int, message: str | None = None) -> Response:
    """The error page without templates or the database (when the real one cannot be rendered)."""
    title = _TITLES.get(status, "Something went wrong")
    body = PLAIN_PAGE.format(title=escape(title), message=f"<p>{escape(message)}</p>" if message else "")
    return Response(body, status=status, mimetype="text/html")


def _page(status: int, message: str | None):  # noqa: ANN202
    _rollback()
    template = "errors/404.html" if status == 404 else "errors/500.html" if status >= 500 else "errors/error.html"
    title = _TITLES.get(status, "Something went wrong")
    try:
        return render_template(template, status=status, title=title, message=message), status
    except Exception:  # noqa: BLE001 - the error page itself failed: send the plain one
        log.exception("Could not render the %s page", status)
        _rollback()
        return plain_page(status, message)


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error and service error as a page in the site's design."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):  # noqa: ANN202
        return _page(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # noqa: ANN202
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, SecurityError):  # a Host header we do not answer to: no links can be built
            return plain_page(400, UNTRUSTED_HOST)
        # Werkzeug's default descriptions are written for developers; 404s use our own text.
        message = None if error.code in (404, 500) else error.description
        return _page(error.code, message)

    @app.errorhandler(500)
    def _server_error(error: Exception):  # noqa: ANN202
        return _page(500, None)
