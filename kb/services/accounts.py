"""Accounts: signing in and out, passwords, password resets, and the first administrator.

(Invitations and roles live in :mod:`kb.services.users`.)

* passwords are hashed with scrypt (Werkzeug's default) and never stored or logged otherwise;
* :func:`authenticate` does the same work, and gives the same answer, whether the address is
  unknown, the account inactive or the password wrong, so sign-in reveals no account; it
  records ``sign_in`` or ``sign_in_failed`` in the audit log either way;
* the session holds ``<id>.<token>``; :func:`set_password` replaces the token, so changing a
  password (or deactivating an account) ends that person's other sessions;
* :func:`request_password_reset` behaves the same whether or not the address has an account
  (it only emails active accounts that have a password); the link it sends is signed,
  single-use and valid for two hours (:mod:`kb.services.tokens`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from kb.extensions import db
from kb.links import absolute_url
from kb.mail import MailSender, Message, deliver, render_message
from kb.models import NetworkRole, User
from kb.services import audit, tokens
from kb.services.errors import BadRequest, NotAllowed
from kb.services.permissions import is_member

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked when there is no real hash to check, so unknown accounts take as long as known ones.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: trimmed, lower-case."""
    return (email or "").strip().lower()


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user whose id *and* session token match, or None."""
    identifier, _, token = (user_id or "").partition(".")
    if not identifier.isdigit():
        return None
    user = db.session.get(User, int(identifier))
    if user is None or not user.active or not secrets.compare_digest(user.session_token or "", token):
        return None
    return user


def find_by_email(email: str) -> User | None:
    """The account with this address (any letter case, surrounding spaces ignored), or None."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str, *, now: datetime | None = None, client: str | None = None) -> User | None:
    """The active account with this address and password, or None (same cost either way).

    With ``now``, the attempt is recorded in the audit log: ``sign_in`` for the account, or
    ``sign_in_failed`` with the (normalised) address typed — the same event whether the
    address is unknown, the account inactive or the password wrong. ``client`` is the
    client's network address.
    """
    address = normalise_email(email)
    user = find_by_email(address)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = check_password_hash(stored, (password or "")[:MAX_PASSWORD_LENGTH])
    if user is None or not user.active or not user.password_hash or not matches:
        if now is not None:
            audit.record_now("sign_in_failed", actor=None, subject=f"user:{address}", now=now, client=client,
                             email=address)
        return None
    if not user.session_token:
        user.session_token = secrets.token_urlsafe(24)
    if now is not None:
        audit.record("sign_in", actor=user, subject=f"user:{user.email}", now=now, client=client)
    db.session.commit()
    return user


def sign_out(user: Any, *, now: datetime, client: str | None = None) -> None:
    """Record that ``user`` signed out (the view ends the session). Anonymous users: nothing."""
    if getattr(user, "is_authenticated", False):
        audit.record_now("sign_out", actor=user, subject=f"user:{user.email}", now=now, client=client)


def check_new_password(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    return None


def set_password(user: User, password: str) -> None:
    """Hash and store a new password and end every session signed in with the old one.

    :raise BadRequest: if the password is too short or too long.
    """
    problem = check_new_password(password)
    if problem:
        raise BadRequest(problem)
    user.password_hash = generate_password_hash(password)
    user.session_token = secrets.token_urlsafe(24)


def create_admin(email: str, name: str, password: str) -> User:
    """Create an administrator account (the first one is made with ``flask kb create-admin``).

    :raise BadRequest: for an invalid address, an address already in use, or a weak password.
    """
    address = normalise_email(email)
    if not EMAIL.match(address) or len(address) > 254:
        raise BadRequest("Enter an email address in the correct format, like name@example.nhs.uk")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == address)) is not None:
        raise BadRequest(f"There is already an account for {address}")
    user = User(email=address, name=name.strip() or address, network_role=NetworkRole.ADMIN, active=True)
    set_password(user, password)
    db.session.add(user)
    db.session.commit()
    return user


class WrongPassword(BadRequest):
    """The current password given to :func:`change_password` is not the account's password."""


def change_password(user: Any, current_password: str, new_password: str, *, now: datetime,
                    client: str | None = None) -> User:
    """Change the signed-in ``user``'s own password, ending their sessions (the caller signs the
    current one in again with the new session token).

    :raise NotAllowed: for anonymous or inactive users.
    :raise WrongPassword: if ``current_password`` is wrong.
    :raise BadRequest: if the new password is too short or too long.
    """
    if not is_member(user):
        raise NotAllowed("Sign in to change your password.")
    account = db.session.get(User, user.id)
    stored = account.password_hash or _DUMMY_HASH
    if not check_password_hash(stored, (current_password or "")[:MAX_PASSWORD_LENGTH]) or not account.password_hash:
        raise WrongPassword("Your current password is not correct")
    set_password(account, new_password)
    audit.record("password_changed", actor=account, subject=f"user:{account.email}", now=now, client=client)
    db.session.commit()
    return account


def request_password_reset(email: str, *, now: datetime, sender: MailSender,
                           client: str | None = None) -> list[Message]:
    """Email a password reset link to the account with this address, if there is one that can
    sign in (active, with a password). The caller shows the same answer either way.

    The request is recorded in the audit log (``password_reset_requested``) whatever the address.
    Returns the messages that could not be sent (the caller must not reveal them).
    """
    address = normalise_email(email)[:254]
    user = find_by_email(address)
    eligible = user is not None and user.active and bool(user.password_hash)
    audit.record("password_reset_requested", actor=None, subject=f"user:{address}", now=now, client=client,
                 sent=eligible)
    db.session.commit()
    if not eligible:
        return []
    token = tokens.make_token(tokens.PASSWORD_RESET, user, now=now)
    message = render_message(
        "password_reset", user.email, person=user,
        link=absolute_url("accounts.reset_password", token=token),
        expires=tokens.expires_at(tokens.PASSWORD_RESET, now),
        sign_in=absolute_url("accounts.sign_in"),
    )
    return deliver(sender, [message])


def reset_target(token: str, *, now: datetime) -> User:
    """The account a password reset link is for.

    :raise BadRequest: if the link is invalid, expired, used or replaced, or the account can no
        longer sign in.
    """
    user = tokens.read_token(tokens.PASSWORD_RESET, token, now=now)
    if not user.active or not user.password_hash:
        raise BadRequest(tokens.INVALID)
    return user


def reset_password(token: str, password: str, *, now: datetime, client: str | None = None) -> User:
    """Set a new password through a reset link; every session of the account ends, and the link
    stops working.

    :raise BadRequest: see :func:`reset_target`, or for a password too short or too long.
    """
    user = reset_target(token, now=now)
    set_password(user, password)
    audit.record("password_reset", actor=user, subject=f"user:{user.email}", now=now, client=client)
    db.session.commit()
    return user
