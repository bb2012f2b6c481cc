"""Serves the NHS.UK frontend's built CSS, JavaScript and images from ``node_modules``.

The design system is installed by npm (``make run``), not copied into the repository; this
route makes its ``dist`` folder available at ``/assets/nhsuk/…``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("assets", __name__)


@bp.get("/assets/nhsuk/<path:filename>")
def nhsuk(filename: str):
    """A file from the installed nhsuk-frontend ``dist/nhsuk`` folder; 404 for anything else."""
    return send_from_directory(current_app.config["KB_NHSUK_DIR"], filename, max_age=86400)
