"""Digest pages: one-click unsubscribe (no sign-in) and the administrators' digest log.

``/unsubscribe/<token>``: GET shows what the link stops and a button; POST stops it. A GET never
changes anything, because mail scanners and link previewers fetch every link in an email. The
same POST answers RFC 8058 one-click requests (``List-Unsubscribe=One-Click`` in the body), which
mail clients send from their own servers, with no cookies and so no session or CSRF token.

``/admin/digests``: the last runs of ``send-digests`` and the digests that failed.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from kb.extensions import csrf, login_manager
from kb.services import digest_log
from kb.services import unsubscribe as unsubscribing
from kb.services.errors import NotAllowed
from kb.services.permissions import can_administer

bp = Blueprint("digests", __name__)
admin_bp = Blueprint("admin_digests", __name__, url_prefix="/admin")
# The page's own address holds the token: no link on it may pass that on (as private feeds;
# Cache-Control: no-store comes from kb.security.PRIVATE_BLUEPRINTS).
SECRET_ADDRESS = {"Referrer-Policy": "no-referrer"}


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
# CSRF protection is off for this one endpoint, deliberately: RFC 8058 requires the one-click
# POST to work with no cookies, session or token of ours (mail providers send it from their
# servers). CSRF guards actions whose authority comes from the visitor's cookies; here the
# authority is the signed token in the address, which a cross-site attacker does not have, and
# the only thing it can do is stop emails, which the owner can turn back on.
@csrf.exempt
def unsubscribe(token: str):  # noqa: ANN201
    """Confirm (GET) or do (POST) what the signed link stops. :raise 404: a link that is not valid."""
    if request.method == "GET":
        target = unsubscribing.resolve(token)
        return render_template("digests/unsubscribe.html", target=target, token=token, done=None), SECRET_ADDRESS
    target = unsubscribing.resolve(token)
    stopped = unsubscribing.unsubscribe(token)
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "Unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8", **SECRET_ADDRESS}
    return render_template("digests/unsubscribe.html", target=target, token=token, done=stopped), SECRET_ADDRESS


@admin_bp.get("/digests")
def runs():  # noqa: ANN201
    """The last runs of send-digests and the failed digests (administrators only)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_administer(current_user):
        raise NotAllowed("Only administrators can use the administration pages.")
    return render_template("digests/admin.html", runs=digest_log.recent_runs(), failures=digest_log.failures())
