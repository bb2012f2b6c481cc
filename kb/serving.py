"""What the production server (gunicorn, see ``gunicorn.conf.py``) adds around the application.

:class:`RequestId` gives every request an id: the caller's ``X-Request-ID`` when it is a sane
token, otherwise a new one. The id is put back into the WSGI environment (so the application
and its logs see the same value) and echoed in the response's ``X-Request-ID`` header, which
gunicorn's access log line prints.
"""

from __future__ import annotations

import re
import uuid

HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 128: enough for UUIDs and the ids load
# balancers make, and nothing that could split or forge a log line.
SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id(offered: str | None) -> str:
    """``offered`` if it is a sane token, else a new random id (32 hex digits)."""
    if offered and SANE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestId:
    """WSGI middleware: choose the request's id, expose it to the app, echo it in the response."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = rid

        def start(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
