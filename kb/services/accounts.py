"""Accounts: signing in and out, passwords, password resets, and the first administrator.

(Invitations and roles live in :mod:`kb.services.users`.)

* passwords are hashed with scrypt (Werkzeug's default) and never stored or logged otherwise;
* :func:`authenticate` does the same work, and gives the same answer, whether the address is
  unknown, the account inactive or the password wrong, so sign-in reveals no account; it
  records ``sign_in`` or ``sign_in_failed`` in the audit log either way;
* every sign-in starts a *server-side session* (:func:`start_session`, a
  :class:`~kb.models.UserSession` row) whose random key the session cookie carries; signing out
  deletes the row (:func:`sign_out`), so a copy of the cookie stops working at once, while the
  person's sessions on other devices go on. :func:`set_password` ends every session of the
  account (the view starts a new one for the person who changed their password), and so does
  deactivation (:func:`end_sessions`). Sessions also end :data:`SESSION_DAYS` days after sign-in;
* Flask-Login's own session id, ``<id>.<account token>`` (:meth:`User.get_id`: what
  ``login_user(user)`` alone stores, as Flask-Login's test client does, and what sessions from
  before server-side sessions hold) is still accepted while the token matches; signing out of
  such a session replaces the account token, which ends every session of that kind;
* addresses are checked as one mailbox by ``email-validator`` (:func:`check_email`), and typed
  text follows :mod:`kb.textcheck` here too, so nothing with a NUL reaches a query;
* :func:`request_password_reset` behaves the same whether or not the address has an account
  (it only emails active accounts that have a password); the link it sends is signed,
  single-use and valid for two hours (:mod:`kb.services.tokens`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from kb import textcheck
from kb.extensions import db
from kb.links import absolute_url
from kb.mail import MailSender, Message, deliver, render_message
from kb.models import NetworkRole, User, UserSession
from kb.models.types import as_utc
from kb.services import audit, tokens
from kb.services.errors import BadRequest, NotAllowed
from kb.services.permissions import is_member

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
MAX_EMAIL_LENGTH = 254
EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.nhs.uk"
MAX_NAME = 120
# The id a server-side session's cookie carries starts with this (Flask-Login's own ids start with a digit).
SESSION_PREFIX = "s:"
SESSION_DAYS = 30  # unless KB_SESSION_DAYS says otherwise
# Checked when there is no real hash to check, so unknown accounts take as long as known ones.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: trimmed, lower-case."""
    return (email or "").strip().lower() if isinstance(email, str) else ""


def check_email(email: str) -> str:
    """``email`` as stored: one mailbox (checked by ``email-validator``, without asking DNS),
    ASCII (an international domain in its ``xn--`` form), lower-case.

    Lists (``a,b@x.org``), display names, quoted or non-ASCII local parts, domains without a dot
    and special-use domains (``.test``, ``.local``, ``localhost``) are refused.

    :raise BadRequest: with :data:`EMAIL_FORMAT` for anything else.
    """
    address = normalise_email(email)
    if not address or len(address) > MAX_EMAIL_LENGTH or textcheck.problem(address):
        raise BadRequest(EMAIL_FORMAT)
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise BadRequest(EMAIL_FORMAT) from None
    return checked.ascii_email.lower()


def check_name(name: str, what: str = "the person's name") -> str:
    """A person's name as stored: trimmed, one line of visible text, 1–:data:`MAX_NAME` characters.

    :raise BadRequest: saying what is wrong.
    """
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise BadRequest(f"Enter {what}")
    if problem := textcheck.problem(name):
        raise BadRequest(f"{what[:1].upper()}{what[1:]} {problem}")
    if len(name) > MAX_NAME:
        raise BadRequest(f"Name must be {MAX_NAME} characters or fewer")
    return name


# --- sessions ------------------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _session_days() -> int:
    return int(current_app.config.get("KB_SESSION_DAYS", SESSION_DAYS)) if has_app_context() else SESSION_DAYS


def start_session(user: User, *, now: datetime, client: str | None = None, replacing: str | None = None) -> str:
    """Start a server-side session for ``user`` (who has just proved who they are) and return the
    id the session cookie must carry (the view stores it as Flask-Login's ``_user_id``).

    ``replacing`` is the session id the browser had before, if any: that session ends (so a copy
    of the old cookie does not outlive a second sign-in). The account's sessions that have
    expired are deleted on the way.
    """
    if isinstance(replacing, str) and replacing.startswith(SESSION_PREFIX) and (old := _session(replacing)):
        db.session.delete(old)
    key = secrets.token_urlsafe(32)
    db.session.execute(delete(UserSession).where(
        UserSession.user_id == user.id, UserSession.created_at < now - timedelta(days=_session_days())))
    db.session.add(UserSession(user_id=user.id, key_digest=_digest(key), created_at=now,
                               client=(client or None) and client[:64]))
    db.session.commit()
    return SESSION_PREFIX + key


def end_sessions(user: User) -> None:
    """End every session of ``user`` (in the caller's transaction): the server-side ones, and
    Flask-Login's own (by replacing the account token)."""
    if user.id is not None:
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.session_token = secrets.token_urlsafe(24)


def _session(session_id: str) -> UserSession | None:
    key = session_id[len(SESSION_PREFIX):]
    if not key or len(key) > 100:
        return None
    return db.session.scalar(select(UserSession).where(UserSession.key_digest == _digest(key)))


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user a session id belongs to, or None.

    A server-side session's id (``s:<key>``) must name a session that has not ended or expired;
    Flask-Login's own id (``<id>.<account token>``) must carry the account's current token.
    """
    user_id = user_id if isinstance(user_id, str) else ""
    if user_id.startswith(SESSION_PREFIX):
        started = _session(user_id)
        if started is None:
            return None
        if as_utc(started.created_at) + timedelta(days=_session_days()) < datetime.now(timezone.utc):
            return None
        user = db.session.get(User, started.user_id)
        return user if user is not None and user.active else None
    identifier, _, token = user_id.partition(".")
    if not identifier.isdigit() or len(identifier) > 18:
        return None
    user = db.session.get(User, int(identifier))
    if user is None or not user.active or not secrets.compare_digest(user.session_token or "", token):
        return None
    return user


def find_by_email(email: str) -> User | None:
    """The account with this address (any letter case, surrounding spaces ignored), or None.

    Text that no address can be (control characters, too long) finds nobody without a query.
    """
    address = normalise_email(email)
    if not address or len(address) > MAX_EMAIL_LENGTH or textcheck.problem(address):
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == address))


def authenticate(email: str, password: str, *, now: datetime | None = None, client: str | None = None) -> User | None:
    """The active account with this address and password, or None (same cost either way).

    With ``now``, the attempt is recorded in the audit log: ``sign_in`` for the account, or
    ``sign_in_failed`` with the (normalised) address typed — the same event whether the
    address is unknown, the account inactive or the password wrong. ``client`` is the
    client's network address. The caller then starts a session (:func:`start_session`).

    :raise BadRequest: for an address with control characters (nothing is recorded: the form
        refuses these first, and a NUL cannot be stored).
    """
    address = normalise_email(email)
    if textcheck.problem(address):
        raise BadRequest(EMAIL_FORMAT)
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


def sign_out(user: Any, session_id: str | None, *, now: datetime, client: str | None = None) -> None:
    """End the session ``session_id`` of ``user`` on the server and record that they signed out
    (the view then clears the cookie). The account's other sessions go on — except that ending
    one of Flask-Login's own sessions (see the module's notes) ends all of that kind.
    Anonymous users: nothing.
    """
    if not getattr(user, "is_authenticated", False):
        return
    if isinstance(session_id, str) and session_id.startswith(SESSION_PREFIX):
        if (started := _session(session_id)) is not None:
            db.session.delete(started)
    else:
        account = db.session.get(User, user.id)
        account.session_token = secrets.token_urlsafe(24)
    audit.record("sign_out", actor=user, subject=f"user:{user.email}", now=now, client=client)
    db.session.commit()


def check_new_password(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    return None


def set_password(user: User, password: str) -> None:
    """Hash and store a new password and end every session of the account (in the caller's
    transaction; see :func:`end_sessions`).

    :raise BadRequest: if the password is too short or too long.
    """
    problem = check_new_password(password)
    if problem:
        raise BadRequest(problem)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def create_admin(email: str, name: str, password: str) -> User:
    """Create an administrator account (the first one is made with ``flask kb create-admin``).

    :raise BadRequest: for an invalid address, an address already in use, or a weak password.
    """
    address = check_email(email)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == address)) is not None:
        raise BadRequest(f"There is already an account for {address}")
    name = check_name(name, "the administrator's name") if (name or "").strip() else address
    user = User(email=address, name=name, network_role=NetworkRole.ADMIN, active=True)
    set_password(user, password)
    db.session.add(user)
    db.session.commit()
    return user


class WrongPassword(BadRequest):
    """The current password given to :func:`change_password` is not the account's password."""


def change_password(user: Any, current_password: str, new_password: str, *, now: datetime,
                    client: str | None = None) -> User:
    """Change the signed-in ``user``'s own password, ending all their sessions (the caller starts
    a new one for this browser with :func:`start_session`).

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
    Returns the messages that could not be sent (the caller must not reveal them). The work
    before the commit is the same whatever the address (for an address without an account, a
    message to a stand-in account is prepared and dropped), and with the sender of a request
    (:func:`kb.mail.current_sender`) mail goes after the response: a real address takes no
    longer to answer than an unknown one.

    :raise BadRequest: for an address with control characters (the form refuses these first).
    """
    address = normalise_email(email)[:MAX_EMAIL_LENGTH]
    if textcheck.problem(address):
        raise BadRequest(EMAIL_FORMAT)
    user = find_by_email(address)
    eligible = user is not None and user.active and bool(user.password_hash)
    person = user if eligible else User(id=0, email=address, name=address, active=False)  # never added
    token = tokens.make_token(tokens.PASSWORD_RESET, person, now=now)
    message = render_message(
        "password_reset", person.email, person=person,
        link=absolute_url("accounts.reset_password", token=token),
        expires=tokens.expires_at(tokens.PASSWORD_RESET, now),
        sign_in=absolute_url("accounts.sign_in"),
    )
    audit.record("password_reset_requested", actor=None, subject=f"user:{address}", now=now, client=client,
                 sent=eligible)
    db.session.commit()
    return deliver(sender, [message]) if eligible else []


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
