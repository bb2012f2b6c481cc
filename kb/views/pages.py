"""The pages a UK public-sector service must have, and the page on how evidence is rated:

* ``/accessibility`` — the accessibility statement (Public Sector Bodies (Websites and Mobile
  Applications) (No. 2) Accessibility Regulations 2018, in the GOV.UK model's sections);
* ``/privacy`` — the privacy notice: what the application stores about people, and why;
* ``/cookies`` — the cookies it sets (read from the configuration, so the page cannot drift);
* ``/feedback`` — contact and feedback: a form emailed to the network team
  (:mod:`kb.services.feedback`), rate-limited per client address, then ``/feedback/sent``;
* ``/how-we-rate-evidence`` — the 1–5 strength scale, study designs and provenance.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from kb.extensions import limiter
from kb.mail import current_sender
from kb.models import EvidenceDesign, Provenance
from kb.models.types import utcnow
from kb.services import feedback as service
from kb.views.evidence_display import STRENGTH_LEVELS
from kb.views.forms import Form, Mailbox

bp = Blueprint("pages", __name__)

# Feedback sent from one client address (KB_FEEDBACK_LIMIT in the app's config overrides it).
FEEDBACK_LIMIT = "10 per hour"
TOO_MUCH_FEEDBACK = ("You have sent feedback several times in a short while. Wait an hour and try again. "
                     "Nothing you sent before has been lost.")

# When the accessibility statement was prepared and last reviewed (shown on the page).
STATEMENT_PREPARED = "6 December 2026"
STATEMENT_REVIEWED = "6 December 2026"


class FeedbackForm(Form):
    doing = TextAreaField("What were you doing?", validators=[
        DataRequired(service.MISSING_DOING), Length(max=service.MAX_TEXT, message=(
            f"What you were doing must be {service.MAX_TEXT:,} characters or fewer"))],
        description="For example, searching for evidence on data sharing, or writing an entry")
    problem = TextAreaField("What went wrong, or what could be better?", validators=[
        DataRequired(service.MISSING_PROBLEM), Length(max=service.MAX_TEXT, message=(
            f"What went wrong must be {service.MAX_TEXT:,} characters or fewer"))],
        description="Do not include personal or medical information about anyone")
    email = EmailField("Email address (optional)", validators=[Optional(), Mailbox()],
                       description="Only if you would like a reply. We use it for nothing else.")


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement."""
    return render_template("pages/accessibility.html", prepared=STATEMENT_PREPARED, reviewed=STATEMENT_REVIEWED)


@bp.get("/privacy")
def privacy():
    """The privacy notice (retention periods from the configuration)."""
    return render_template("pages/privacy.html", session_days=current_app.config["KB_SESSION_DAYS"])


@bp.get("/cookies")
def cookies():
    """The cookies the site sets, named as the configuration names them."""
    config = current_app.config
    return render_template("pages/cookies.html", session_cookie=config["SESSION_COOKIE_NAME"],
                           session_days=config["KB_SESSION_DAYS"], secure=config["SESSION_COOKIE_SECURE"])


@bp.get("/how-we-rate-evidence")
def rating_evidence():
    """How strength of evidence, study design and provenance are decided. Each level is described
    in the words the entries' own evidence boxes use (:data:`~kb.views.evidence_display.STRENGTH_LEVELS`)."""
    return render_template("pages/rating_evidence.html", designs=list(EvidenceDesign), provenances=list(Provenance),
                           strength_levels=STRENGTH_LEVELS)


@bp.route("/feedback", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("KB_FEEDBACK_LIMIT", FEEDBACK_LIMIT), methods=["POST"],
               error_message=TOO_MUCH_FEEDBACK)
def feedback():
    """The form; on a valid POST, email the network team and go to the confirmation page.

    An invalid form (a missing answer, a bad address, a line break in the address, an expired
    CSRF token) is shown again with what was typed and an error summary, with a 400.
    """
    form = FeedbackForm()
    if form.validate_on_submit():
        service.send_feedback(
            service.Feedback(doing=form.doing.data, problem=form.problem.data, reply_to=form.email.data or ""),
            to=current_app.config["KB_FEEDBACK_EMAIL"], now=utcnow(), sender=current_sender())
        return redirect(url_for("pages.feedback_sent"))
    return render_template("pages/feedback.html", form=form), 400 if request.method == "POST" else 200


@bp.get("/feedback/sent")
def feedback_sent():
    """The confirmation shown after feedback is sent."""
    return render_template("pages/feedback_sent.html")
