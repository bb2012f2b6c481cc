"""Accounts: signing in, passwords and sessions, and the first administrator.

Invitations, password resets and role management arrive later in the accounts issue; what is
here is the part every later step stands on:

* passwords are hashed with scrypt (Werkzeug's default) and never stored or logged otherwise;
* :func:`authenticate` does the same work, and gives the same answer, whether the address is
  unknown, the account inactive or the password wrong, so sign-in reveals no account;
* the session holds ``<id>.<token>``; :func:`set_password` replaces the token, so changing a
  password (or deactivating an account) ends that person's other sessions.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from kb.extensions import db
from kb.models import NetworkRole, User
from kb.services.errors import BadRequest

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


def authenticate(email: str, password: str) -> User | None:
    """The active account with this address and password, or None (same cost either way)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = check_password_hash(stored, (password or "")[:MAX_PASSWORD_LENGTH])
    if user is None or not user.active or not user.password_hash or not matches:
        return None
    if not user.session_token:
        user.session_token = secrets.token_urlsafe(24)
        db.session.commit()
    return user


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
