"""/sign-in and /sign-out.

Sign-in is rate-limited per account and per client address (429 with ``Retry-After``), and
answers an unknown address exactly as it answers a wrong password. ``next`` only ever leads to a
page of this site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from kb.extensions import limiter
from kb.services import accounts

bp = Blueprint("accounts", __name__)

FAILED = "Enter a correct email address and password"


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"),
                                                     Length(max=accounts.MAX_PASSWORD_LENGTH)])


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page."""
    if not target or any(ord(c) < 32 for c in target) or "\\" in target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


def _account_key() -> str:
    return "account:" + accounts.normalise_email(request.form.get("email", ""))


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["KB_SIGN_IN_LIMIT_CLIENT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["KB_SIGN_IN_LIMIT_ACCOUNT"], key_func=_account_key, methods=["POST"])
def sign_in():
    """Show the form; on POST, sign in and go to ``next`` (a page of this site) or home."""
    form = SignInForm()
    next_url = safe_next(request.values.get("next"))
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # nothing from before sign-in carries over into the new session
            login_user(user)
            return redirect(next_url)
        failed = True
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/sign_in.html", form=form, failed=failed, failure=FAILED, next_url=next_url), status


@bp.post("/sign-out")
def sign_out():
    """End the session (a POST with the form's CSRF token, so no link can sign anyone out)."""
    logout_user()
    session.clear()
    return redirect(url_for("home.index"))
