"""Error pages: friendly, no tracebacks, and the status code the error deserves."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from kb.services.errors import ServiceError

_TITLES = {
    400: "There is a problem with this request",
    403: "You do not have permission to do this",
    404: "Page not found",
    405: "This address does not accept that kind of request",
    413: "What you sent is too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
}


def _page(status: int, message: str | None):  # noqa: ANN202
    template = "errors/404.html" if status == 404 else "errors/500.html" if status >= 500 else "errors/error.html"
    title = _TITLES.get(status, "Something went wrong")
    return render_template(template, status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error and service error as a page in the site's design."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):  # noqa: ANN202
        return _page(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # noqa: ANN202
        if error.code is None or error.code < 400:
            return error
        # Werkzeug's default descriptions are written for developers; 404s use our own text.
        message = None if error.code in (404, 500) else error.description
        return _page(error.code, message)

    @app.errorhandler(500)
    def _server_error(error: Exception):  # noqa: ANN202
        return _page(500, None)
