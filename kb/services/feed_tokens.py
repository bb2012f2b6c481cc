"""Private feed keys: the revocable token in a member's personal feed addresses.

A member's private feeds hold the network-only entries they may read, so their addresses carry
a secret token (``/feeds/m/<token>/…``). The same token is meant for everything else a member
fetches without signing in (an OPML file of what they follow, links in digests): call
:func:`reader_for_token` to turn a token from a URL into the member it reads as, and
:func:`current_token` to build addresses for a signed-in member.

The token
  ``HMAC-SHA256(SECRET_KEY, nonce)``, URL-safe base64 (43 characters), where ``nonce`` is random
  and stored in the member's :class:`~kb.models.FeedToken` row together with the token's
  SHA-256 digest. A token from a URL is looked up by its digest, so a copy of the database
  alone yields no working address; the app can show the member their addresses again at any
  time by deriving the token afresh. (A changed ``SECRET_KEY`` derives a different token:
  :func:`current_token` then answers ``None`` and the member generates a new one.)

When it stops working — at once, since every request looks it up
  * the member revokes it (:func:`revoke_token`) or generates a new one (:func:`issue_token`);
  * the account is deactivated (or deleted: the row goes with it). A token reads only as an
    active member (:func:`kb.services.permissions.is_member`), checked on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from kb.extensions import db
from kb.models import FeedToken, User
from kb.services.errors import NotAllowed
from kb.services.permissions import is_member
from kb.services.versions import retrying

# What a token looks like; anything else is refused before the database is asked.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
MEMBERS_ONLY = "Private feeds are for signed-in network members."


def can_manage_feed_token(user: Any) -> bool:
    """May ``user`` see, create, replace or revoke a private feed key? (active members, for their own)"""
    return is_member(user)


def _derive(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    mac = hmac.new(key, b"kb.feed-token|" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row(user: User) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(FeedToken.user_id == user.id))


def token_created_at(user: Any) -> datetime | None:
    """When ``user``'s current key was made, or ``None`` if they have none."""
    if not can_manage_feed_token(user):
        return None
    row = _row(user)
    return row.created_at if row is not None else None


def current_token(user: Any) -> str | None:
    """``user``'s working private feed token, or ``None`` (none issued, revoked, not a member,
    or the secret key changed since it was issued)."""
    if not can_manage_feed_token(user):
        return None
    row = _row(user)
    if row is None:
        return None
    token = _derive(row.nonce)
    return token if hmac.compare_digest(_digest(token), row.token_digest) else None


def issue_token(user: Any, *, now: datetime) -> str:
    """Give ``user`` a new private feed token, replacing (and so stopping) any earlier one.

    :raise NotAllowed: unless ``user`` is an active, signed-in member.
    """
    if not can_manage_feed_token(user):
        raise NotAllowed(MEMBERS_ONLY)

    def attempt() -> str:
        nonce = secrets.token_hex(32)
        token = _derive(nonce)
        row = _row(user)
        if row is None:
            row = FeedToken(user_id=user.id)
            db.session.add(row)
        row.nonce, row.token_digest, row.created_at = nonce, _digest(token), now
        db.session.commit()  # two at once: the loser's insert breaks the unique user_id and retries
        return token

    return retrying(attempt, what="private feed key")


def revoke_token(user: Any) -> bool:
    """Stop ``user``'s private feed addresses. Returns whether there was a key to revoke.

    :raise NotAllowed: unless ``user`` is an active, signed-in member.
    """
    if not can_manage_feed_token(user):
        raise NotAllowed(MEMBERS_ONLY)
    row = _row(user)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


def reader_for_token(token: Any) -> User | None:
    """The active member whose current token ``token`` is, or ``None`` for anything else (any
    string at all may arrive in a URL: malformed, revoked, replaced, or a deactivated account's)."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        return None
    user = db.session.scalar(
        select(User).join(FeedToken, FeedToken.user_id == User.id).where(FeedToken.token_digest == _digest(token)))
    return user if is_member(user) else None
