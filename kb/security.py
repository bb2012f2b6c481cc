"""HTTP security headers on every response.

The Content-Security-Policy allows scripts, styles, fonts and images from this site only (and
``data:`` images, which the NHS.UK frontend's stylesheet uses): no inline scripts, no ``eval``,
no framing (``frame-ancestors 'none'``), forms posting only here. Templates therefore never use
inline ``<script>`` or ``style=""``; the one script that must run early lives in
``static/js/js-enabled.js``.
"""

from __future__ import annotations

from flask import Flask, Response

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


def add_security_headers(response: Response) -> Response:
    """Set :data:`HEADERS` (and HSTS when served over HTTPS) unless a view set its own."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Register the headers for every response of ``app``, error pages and static files included."""
    app.after_request(add_security_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):
        @app.after_request
        def strict_transport(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            return response
