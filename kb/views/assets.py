"""Serves the NHS.UK frontend's built CSS, JavaScript and images from ``node_modules``.

The design system is installed by npm (``make run``), not copied into the repository. Its
``dist/nhsuk`` folder is served at ``/nhsuk/…``, and its ``assets`` folder at ``/assets/…``
because the compiled CSS refers to icons by that absolute path.
"""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("assets", __name__)

ONE_DAY = 86400


@bp.get("/nhsuk/<path:filename>")
def nhsuk(filename: str):
    """A file from the installed ``dist/nhsuk`` folder; 404 for anything outside it."""
    return send_from_directory(current_app.config["KB_NHSUK_DIR"], filename, max_age=ONE_DAY)


@bp.get("/assets/<path:filename>")
def design_assets(filename: str):
    """An icon or image the NHS.UK CSS refers to as ``/assets/…``."""
    return send_from_directory(current_app.config["KB_NHSUK_DIR"] / "assets", filename, max_age=ONE_DAY)
