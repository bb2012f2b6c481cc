"""Signed links for invitations and password resets: single-use, expiring, tamper-proof.

A token is ``itsdangerous``-signed with the app's ``SECRET_KEY`` and a salt per purpose (an
invitation token is no good as a reset token). Its payload holds:

* ``u`` — the user's id;
* ``f`` — a fingerprint of the account's current state (password hash, session token, active
  flag). Setting a password, re-sending an invitation or deactivating the account changes the
  fingerprint, so the link stops working once used or replaced — without storing tokens;
* ``t`` — when it was issued (Unix seconds). Expiry is checked against the caller's ``now``, so
  tests can step past it without waiting.

Any string at all may arrive from a link; :func:`read_token` answers every bad one with a
:class:`~kb.services.errors.BadRequest` saying whether it is expired, used/replaced or invalid.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from kb.extensions import db
from kb.models import User
from kb.services.errors import BadRequest

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
LIFETIMES: dict[str, timedelta] = {INVITATION: timedelta(days=7), PASSWORD_RESET: timedelta(hours=2)}

EXPIRED = "This link has expired. Ask for a new one."
USED = "This link has already been used, or a newer one has replaced it. Ask for a new one if you need it."
INVALID = "This link is not valid. Check that you copied the whole link from the email, or ask for a new one."
# Real tokens are about 100 characters; anything much longer is not worth verifying.
MAX_TOKEN_LENGTH = 400


def _serializer(purpose: str) -> URLSafeSerializer:
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"kb.tokens.{purpose}")


def fingerprint(user: User) -> str:
    """A short digest of what a used or replaced link must no longer match."""
    state = f"{user.password_hash or ''}|{user.session_token or ''}|{int(bool(user.active))}"
    return hashlib.sha256(state.encode()).hexdigest()[:20]


def make_token(purpose: str, user: User, *, now: datetime) -> str:
    """A signed token for ``user`` and ``purpose``, issued at ``now`` (the user must be flushed)."""
    return _serializer(purpose).dumps({"u": user.id, "f": fingerprint(user), "t": int(now.timestamp())})


def expires_at(purpose: str, now: datetime) -> datetime:
    """When a token issued at ``now`` for ``purpose`` stops working."""
    return now + LIFETIMES[purpose]


def read_token(purpose: str, token: Any, *, now: datetime) -> User:
    """The user a valid, unexpired, unused ``token`` was issued to.

    :raise BadRequest: with :data:`INVALID` for anything not signed by us for ``purpose``
        (including garbage of any type and length), :data:`EXPIRED` once its lifetime has
        passed, :data:`USED` once the account changed since it was issued.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadRequest(INVALID)
    try:
        payload = _serializer(purpose).loads(token)
    except (BadData, ValueError, UnicodeError):
        raise BadRequest(INVALID) from None
    if not (isinstance(payload, dict) and type(payload.get("u")) is int and type(payload.get("t")) is int
            and isinstance(payload.get("f"), str)):
        raise BadRequest(INVALID)
    issued = payload["t"]
    if now.timestamp() - issued > LIFETIMES[purpose].total_seconds():
        raise BadRequest(EXPIRED)
    user = db.session.get(User, payload["u"]) if 0 < payload["u"] < 2**63 else None
    if user is None:
        raise BadRequest(INVALID)
    if payload["f"] != fingerprint(user):
        raise BadRequest(USED)
    return user
