"""/sign-in, /sign-out, and /account/…: the account page, password change, invitations and resets.

Sign-in is rate-limited per account and per client address (429 with ``Retry-After``), and
answers an unknown address exactly as it answers a wrong password; so does the password reset
request (same page, same status, whether or not the address has an account). ``next`` only
ever leads to a page of this site. Links from emails carry signed tokens; a bad one is a 400.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from kb.extensions import limiter
from kb.mail import current_sender
from kb.models import User
from kb.models.types import utcnow
from kb.services import accounts, users
from kb.views.forms import Form, Mailbox

bp = Blueprint("accounts", __name__)

FAILED = "Enter a correct email address and password"


def _client() -> str | None:
    return request.remote_addr


class SignInForm(Form):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Mailbox()])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"),
                                                     Length(max=accounts.MAX_PASSWORD_LENGTH)])


def _usable_password(form: Form, field: PasswordField) -> None:
    if problem := accounts.check_new_password(field.data or ""):
        raise ValidationError(problem)


class NewPasswordForm(Form):
    """A new password, typed twice (invitations, resets)."""

    password = PasswordField("New password", validators=[DataRequired("Enter a new password"), _usable_password])
    confirm = PasswordField("Confirm new password", validators=[
        DataRequired("Enter the new password again"), EqualTo("password", "The passwords do not match")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired("Enter your current password"), Length(max=accounts.MAX_PASSWORD_LENGTH)])


class ResetRequestForm(Form):
    email = EmailField("Email address", filters=[accounts.normalise_email], validators=[
        DataRequired("Enter your email address"), Mailbox()])


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


def _reset_address_key() -> str:
    return "reset:" + accounts.normalise_email(request.form.get("email", ""))


def _own_account_key() -> str:
    return f"password-change:{getattr(current_user, 'id', None) or request.remote_addr}"


def _status() -> int:
    return 400 if request.method == "POST" else 200


def _start_session(user: User) -> None:
    """Sign ``user`` in on this browser, in a new server-side session (a fresh cookie: nothing
    from before carries over)."""
    session_id = accounts.start_session(user, now=utcnow(), client=_client(), replacing=session.get("_user_id"))
    session.clear()
    login_user(user)
    # Flask-Login stored the account's own id (User.get_id); the cookie carries this session's
    # id instead, so that signing out can end this session alone (see kb.services.accounts).
    session["_user_id"] = session_id


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["KB_SIGN_IN_LIMIT_CLIENT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["KB_SIGN_IN_LIMIT_ACCOUNT"], key_func=_account_key, methods=["POST"])
def sign_in():
    """Show the form; on POST, sign in and go to ``next`` (a page of this site) or home."""
    form = SignInForm()
    next_url = safe_next(request.values.get("next"))
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data, now=utcnow(), client=_client())
        if user is not None:
            _start_session(user)
            return redirect(next_url)
        failed = True
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/sign_in.html", form=form, failed=failed, failure=FAILED, next_url=next_url), status


@bp.post("/sign-out")
def sign_out():
    """End the session, on the server too: a copy of the cookie stops working (a POST with the
    form's CSRF token, so no link can sign anyone out)."""
    accounts.sign_out(current_user, session.get("_user_id"), now=utcnow(), client=_client())
    logout_user()
    session.clear()
    return redirect(url_for("home.index"))


@bp.get("/account/")
@login_required
def account():
    """The signed-in person's account: name, address, roles, and where to manage things."""
    return render_template("accounts/account.html", user=current_user)


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["KB_PASSWORD_CHANGE_LIMIT"],
               key_func=_own_account_key, methods=["POST"])
@login_required
def change_password():
    """Change one's own password; every other session of the account ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(current_user, form.current_password.data, form.password.data,
                                            now=utcnow(), client=_client())
        except accounts.WrongPassword as wrong:
            form.current_password.errors = [wrong.message]
        else:
            _start_session(user)  # every session of the account ended: this browser gets a new one
            flash("Your password has been changed. You have been signed out everywhere else.", "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form), _status()


@bp.route("/account/invitation/<path:token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Accept an invitation: choose a password, then be signed in. :raise BadRequest: (400) bad link."""
    now = utcnow()
    person = users.invitation_for(token, now=now)
    form = NewPasswordForm()
    if form.validate_on_submit():
        user = users.accept_invitation(token, form.password.data, now=now, client=_client())
        _start_session(user)
        return redirect(url_for("accounts.welcome"))
    return render_template("accounts/accept_invitation.html", form=form, person=person, token=token), _status()


@bp.route("/account/welcome")
@login_required
def welcome():
    """What a newly set-up account can do next, by role (the page an accepted invitation leads to)."""
    return render_template("accounts/welcome.html", user=current_user)


@bp.route("/account/password-reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["KB_PASSWORD_RESET_LIMIT_CLIENT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["KB_PASSWORD_RESET_LIMIT_ACCOUNT"],
               key_func=_reset_address_key, methods=["POST"])
def request_password_reset():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, now=utcnow(), sender=current_sender(), client=_client())
        return render_template("accounts/password_reset_sent.html")
    return render_template("accounts/request_password_reset.html", form=form), _status()


@bp.route("/account/password-reset/<path:token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through a reset link. :raise BadRequest: (400) for a bad link."""
    now = utcnow()
    person = accounts.reset_target(token, now=now)
    form = NewPasswordForm()
    if form.validate_on_submit():
        accounts.reset_password(token, form.password.data, now=now, client=_client())
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash("Your password has been changed. Sign in with your new password.", "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form, person=person, token=token), _status()
