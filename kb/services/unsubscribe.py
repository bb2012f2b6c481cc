"""One-click unsubscribe from digests, without signing in.

Every digest carries signed links: one per subscription and one for all of the member's
digests (also given in the ``List-Unsubscribe`` header, RFC 8058). A link's token is the
member's id and the subscription's (0 for all), signed with the app's ``SECRET_KEY`` under a
salt of its own (itsdangerous), so it cannot be made without the key nor reused as any other
kind of token. Unsubscribing turns the frequency to ``off``: the subscription stays (with its
feed and preview) and the member can turn it back on from /account/subscriptions.

A subscription's token also carries the start of its ``filters_key`` (what it follows): on SQLite
a deleted subscription's id can be given to the member's next one, and an old link must not stop
a different subscription. (Tokens of two values, made before this, are still honoured.)

Tokens do not expire: an unsubscribe link in an old email must still work. Changing the
secret key invalidates every link, as it does every other signed thing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from kb.extensions import db
from kb.models import Frequency, Subscription, User
from kb.services.errors import NotFound

SALT = "kb.digests.unsubscribe"
FINGERPRINT = 16  # hex digits of the subscription's filters_key a token carries
INVALID = "This unsubscribe link is not valid. Sign in and manage your subscriptions at /account/subscriptions."


@dataclass(frozen=True)
class Target:
    """What a token unsubscribes: ``user``, and one of their subscriptions or all (``None``)."""

    user: User
    subscription: Subscription | None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT,
                             signer_kwargs={"digest_method": hashlib.sha256})


def token(user_id: int, subscription: Subscription | None = None) -> str:
    """The token of the link that stops ``subscription`` (or all digests when ``None``)."""
    if subscription is None:
        return _serializer().dumps([user_id, 0])
    return _serializer().dumps([user_id, subscription.id, subscription.filters_key[:FINGERPRINT]])


def resolve(value: str) -> Target:
    """What the token ``value`` unsubscribes.

    :raise NotFound: a token that is not ours (bad signature, wrong salt, garbage), or whose
        member or subscription no longer exists (a subscription made since under the same id,
        following something else, is not the one the link stops).
    """
    try:
        user_id, subscription_id, *fingerprint = _serializer().loads(value)
        user_id, subscription_id = int(user_id), int(subscription_id)
        if len(fingerprint) > 1 or not all(isinstance(part, str) for part in fingerprint):
            raise ValueError(value)
    except (BadSignature, TypeError, ValueError):
        raise NotFound(INVALID) from None
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(INVALID)
    if not subscription_id:
        return Target(user, None)
    subscription = db.session.get(Subscription, subscription_id)
    if (subscription is None or subscription.user_id != user_id
            or fingerprint and subscription.filters_key[:FINGERPRINT] != fingerprint[0]):
        raise NotFound("That subscription has been deleted, so it sends nothing.")
    return Target(user, subscription)


def unsubscribe(value: str) -> list[str]:
    """Stop what the token ``value`` names (frequency ``off``); return the names of the
    subscriptions stopped (empty when they were all off already). Safe to repeat.

    :raise NotFound: see :func:`resolve`.
    """
    target = resolve(value)
    if target.subscription is not None:
        chosen = [target.subscription]
    else:
        chosen = list(db.session.scalars(select(Subscription).where(Subscription.user_id == target.user.id)
                                         .order_by(Subscription.created_at, Subscription.id)))
    stopped = [s.name for s in chosen if s.frequency != Frequency.OFF]
    for subscription in chosen:
        subscription.frequency = Frequency.OFF
    db.session.commit()
    return stopped
