"""Absolute links, built from ``KB_BASE_URL`` and never from the request's ``Host`` header.

Links that leave the site — in emails and feeds — must point at the configured address: a
``Host`` header is whatever the client sent, and a reset link built from it could send a
person's token to someone else's server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values: object) -> str:
    """The absolute URL of ``endpoint`` under ``KB_BASE_URL`` (works with or without a request)."""
    base = urlsplit(current_app.config["KB_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
