"""HTTP security on every response: headers, private pages never cached, no hostile addresses.

* **Headers.** The Content-Security-Policy allows scripts, styles, fonts and images from this
  site only (and ``data:`` images, which the NHS.UK frontend's stylesheet uses): no inline
  scripts, no ``eval``, no framing (``frame-ancestors 'none'``), forms posting only here.
  Templates therefore never use inline ``<script>`` or ``style=""``; the one script that must
  run early lives in ``static/js/js-enabled.js``. The headers are added by a WSGI wrapper
  around the app, so *every* response has them: pages, redirects, static files, error pages —
  and the plain 500 page the wrapper itself sends if an error escapes Flask's own handling
  (an error page that failed to render, say).
* **Private responses are not stored** by browsers or proxies (``Cache-Control: no-store``):
  every response to a signed-in person, and every page of the account, editor, revision,
  administration and unsubscribe blueprints, whoever asks (sign-in, invitation, reset and
  unsubscribe links included).
* **Addresses with control characters** (``/entries/%00``) are a 404 before any view runs: no
  page has one, and a NUL in a query parameter makes PostgreSQL's driver raise.
* **Trusted hosts** (``TRUSTED_HOSTS``, see :mod:`kb.config`) are Flask's own check: a request
  whose ``Host`` header is not one of them is a 400, so no redirect can point elsewhere.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable

from flask import Flask, Response, abort, request
from flask_login import current_user

from kb import textcheck

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' https://assets.nhs.uk",  # the NHS.UK frontend's Frutiger web font
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

# Blueprints whose every page is private: for one person, or holding a secret link.
# "digests" is /unsubscribe/<token> (a secret link, showing the member's address); "admin_digests"
# is /admin/digests.
PRIVATE_BLUEPRINTS = frozenset({"accounts", "authoring", "revisions", "admin", "users", "digests", "admin_digests"})
PUBLIC_FILES = frozenset({"static", "assets"})  # the same for everyone, cached as they say

PLAIN_500 = (b'<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
             b"<title>Sorry, there is a problem with the service</title></head>\n"
             b"<body><h1>Sorry, there is a problem with the service</h1>"
             b'<p><a href="/">Go to the home page</a></p></body></html>\n')


def add_security_headers(response: Response) -> Response:
    """Set :data:`HEADERS` on ``response`` unless a view set its own."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _propagates(app: Flask) -> bool:
    """Whether Flask lets errors escape (tests and debugging) instead of sending a 500 page."""
    configured = app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(app.testing or app.debug) if configured is None else bool(configured)


class SecureResponses:
    """WSGI wrapper: adds the security headers to every response of ``app``, and answers an
    error that escapes Flask with a plain 500 page (unless Flask is set to let errors escape)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app

    def _headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        present = {name.lower() for name, _ in headers}
        extra = list(HEADERS.items())
        if self.app.config.get("SESSION_COOKIE_SECURE"):
            extra.append(HSTS)
        return list(headers) + [(name, value) for name, value in extra if name.lower() not in present]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, self._headers(headers), exc_info)

        try:
            return self.wsgi_app(environ, start)
        except Exception:
            if _propagates(self.app):
                raise
            log.exception("An error escaped the error pages")
            start("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html; charset=utf-8"),
                                                ("Content-Length", str(len(PLAIN_500))),
                                                ("Cache-Control", "no-store")], sys.exc_info())
            return [PLAIN_500]


def _refuse_control_characters_in_the_path() -> None:
    if textcheck.disallowed(request.path):
        abort(404)


def _private(response: Response) -> Response:
    """``Cache-Control: no-store`` on private responses (see the module's notes)."""
    if request.blueprint in PUBLIC_FILES or request.endpoint == "static":
        return response
    if request.blueprint in PRIVATE_BLUEPRINTS or current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Apply the protections above to every response of ``app``, error pages and static files included."""
    app.before_request(_refuse_control_characters_in_the_path)
    app.after_request(_private)
    app.wsgi_app = SecureResponses(app, app.wsgi_app)  # type: ignore[method-assign]
