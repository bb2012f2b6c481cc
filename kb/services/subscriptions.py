"""Members' subscriptions: a saved search or browse, or a followed site or theme (optionally one
polarity), each with a name and a digest frequency.

A subscription's filters are exactly those of ``/search`` (:class:`~kb.services.filters.Filters`
without ``sort`` and ``page``: a digest is always the newest entries): :func:`filters_of` rebuilds
them, so a saved search leads back to the same ``/search`` address and the same feed.

Permissions: only active, signed-in members subscribe (:func:`can_subscribe`), and only the owner
sees or changes a subscription — anyone else is told it does not exist (:class:`NotFound`), so
ids reveal nothing. Every function here that takes ``user`` checks that first.

For the digest work: :func:`preview` is what the next digest of a subscription would hold, read
as its owner at that moment, for the period from :attr:`Subscription.period_start`
(``last_sent_at``, or ``created_at`` before the first digest) to ``now``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb import textcheck
from kb.extensions import db
from kb.models import Entry, Frequency, Site, Subscription, SubscriptionKind, Theme
from kb.models.types import as_utc
from kb.services import feeds
from kb.services.errors import BadRequest, NotAllowed, NotFound
from kb.services.filters import Filters
from kb.services.permissions import is_member

MAX_SUBSCRIPTIONS = 50  # per member: plenty for real interests, and bounds a digest's work
MAX_NAME_LENGTH = 120
PREVIEW_LIMIT = feeds.FEED_LIMIT  # a digest lists at most this many entries per subscription
MEMBERS_ONLY = "Sign in as a network member to subscribe."
GONE = "There is no such subscription."
_WHERE = {"enabler": " where it was an enabler", "barrier": " where it was a barrier"}


class AlreadySubscribed(BadRequest):
    """The member already has a subscription with these filters (``subscription``)."""

    def __init__(self, subscription: Subscription):
        super().__init__(f"You already have this subscription: “{subscription.name}”.")
        self.subscription = subscription


def can_subscribe(user: Any) -> bool:
    """May ``user`` have subscriptions? (active, signed-in members)"""
    return is_member(user)


def _require_member(user: Any) -> None:
    if not can_subscribe(user):
        raise NotAllowed(MEMBERS_ONLY)


# --- filters ---------------------------------------------------------------------------------


def filters_of(subscription: Subscription) -> Filters:
    """The subscription's search filters, as ``/search`` would parse them (sort and page unset)."""
    return Filters(q=subscription.q or "", type=subscription.type,
                   site=subscription.site.slug if subscription.site else None,
                   theme=subscription.theme.slug if subscription.theme else None,
                   polarity=subscription.polarity, year=subscription.year, strength=subscription.strength)


def search_args(subscription: Subscription) -> dict[str, str]:
    """The ``/search`` query parameters of the subscription (for links to the search and its feed)."""
    return filters_of(subscription).to_args(page=1, sort="")


def feed_target(subscription: Subscription) -> tuple[str, dict[str, str]]:
    """``(feed kind, route values)`` of the subscription's feed (see :data:`kb.views.feeds.KINDS`):
    a followed site or theme has its own feed, anything else is a search feed."""
    if subscription.kind == SubscriptionKind.SITE and subscription.site:
        return "site", {"slug": subscription.site.slug}
    if subscription.kind == SubscriptionKind.THEME and subscription.theme:
        return "theme", {"slug": subscription.theme.slug,
                         **({"polarity": subscription.polarity} if subscription.polarity else {})}
    return "search", search_args(subscription)


def _key(filters: Filters, site: Site | None, theme: Theme | None) -> str:
    canonical = [filters.q, filters.type, site.id if site else None, theme.id if theme else None,
                 filters.polarity, filters.year, filters.strength]
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def _lookup(model: type, slug: str | None, what: str) -> Any:
    if slug is None:
        return None
    row = db.session.scalar(select(model).where(model.slug == slug))
    if row is None:
        raise BadRequest(f"There is no {what} “{slug}”, so there is nothing to subscribe to.")
    return row


def describe(filters: Filters, site: Site | None = None, theme: Theme | None = None) -> str:
    """A plain name for these filters: "Sheffield", "Leadership where it was a barrier",
    "Search: “frailty”, type evidence", "All entries"."""
    rest = dataclasses.replace(filters, site=None if site else filters.site, theme=None if theme else filters.theme,
                               polarity=None if theme else filters.polarity)
    head = []
    if theme:
        head.append(theme.name + _WHERE.get(filters.polarity or "", ""))
    if site:
        head.append(site.name)
    parts = [f"“{rest.q}”"] if rest.q else []
    parts += [f"{name} {value}" for name, value in rest.to_args(q="", page=1, sort="").items()]
    if head and not parts:
        return ", ".join(head)
    if not head and not parts:
        return "All entries"
    return ("Search: " if not head else ", ".join(head) + ": ") + ", ".join(parts)


def _clean_name(name: Any) -> str:
    if not isinstance(name, str):
        raise BadRequest("Enter a name for the subscription.")
    name = " ".join(name.split())
    if not name:
        raise BadRequest("Enter a name for the subscription.")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"The name is too long: use at most {MAX_NAME_LENGTH} characters.")
    problem = textcheck.problem(name)
    if problem:
        raise BadRequest(f"The name {problem}.")
    return name


def _frequency(value: Any) -> Frequency:
    try:
        return Frequency(value)
    except ValueError:
        raise BadRequest("Choose how often: " + ", ".join(f.value for f in Frequency) + ".") from None


# --- making them -----------------------------------------------------------------------------


def subscribe(user: Any, filters: Filters, *, kind: SubscriptionKind = SubscriptionKind.SEARCH,
              name: str | None = None, frequency: str = Frequency.WEEKLY.value, now: datetime) -> Subscription:
    """Save ``filters`` (sort and page are not kept) as a subscription of ``user``.

    :raise NotAllowed: unless ``user`` is an active, signed-in member.
    :raise BadRequest: an unknown site or theme, a bad name or frequency, or the member's
        :data:`MAX_SUBSCRIPTIONS` reached. :raise AlreadySubscribed: (a BadRequest) the member
        already has a subscription with the same filters; nothing is changed.
    """
    _require_member(user)
    site = _lookup(Site, filters.site, "site")
    theme = _lookup(Theme, filters.theme, "theme")
    key = _key(filters, site, theme)
    existing = db.session.scalar(select(Subscription).where(Subscription.user_id == user.id,
                                                            Subscription.filters_key == key))
    if existing is not None:
        raise AlreadySubscribed(existing)
    count = db.session.scalar(select(func.count()).select_from(Subscription).where(Subscription.user_id == user.id))
    if count >= MAX_SUBSCRIPTIONS:
        raise BadRequest(f"You have {MAX_SUBSCRIPTIONS} subscriptions, the most you can have. "
                         "Delete one you no longer need first.")
    if name is None:  # a made-up name must pass the same rule as a typed one
        name = textcheck.clean(describe(filters, site, theme))[:MAX_NAME_LENGTH]
    subscription = Subscription(
        user_id=user.id, kind=kind, name=_clean_name(name),
        frequency=_frequency(frequency), q=filters.q, type=filters.type, site=site, theme=theme,
        polarity=filters.polarity, year=filters.year, strength=filters.strength, filters_key=key, created_at=now)
    db.session.add(subscription)
    try:
        db.session.commit()
    except IntegrityError:  # the same filters saved at the same moment (a double click): keep the first
        db.session.rollback()
        existing = db.session.scalar(select(Subscription).where(Subscription.user_id == user.id,
                                                                Subscription.filters_key == key))
        if existing is None:
            raise
        raise AlreadySubscribed(existing) from None
    return subscription


def save_search(user: Any, filters: Filters, *, now: datetime, name: str | None = None) -> Subscription:
    """Save a search or browse (see :func:`subscribe`)."""
    return subscribe(user, filters, kind=SubscriptionKind.SEARCH, name=name, now=now)


def follow_site(user: Any, slug: str, *, now: datetime) -> Subscription:
    """Follow a site's entries (see :func:`subscribe`)."""
    return subscribe(user, Filters(site=slug), kind=SubscriptionKind.SITE, now=now)


def follow_theme(user: Any, slug: str, polarity: str | None = None, *, now: datetime) -> Subscription:
    """Follow a theme, or only where it was an enabler or a barrier (see :func:`subscribe`).

    :raise BadRequest: a polarity that is neither.
    """
    polarity = Filters.from_args({"polarity": polarity or ""}).polarity
    return subscribe(user, Filters(theme=slug, polarity=polarity), kind=SubscriptionKind.THEME, now=now)


# --- the member's own ------------------------------------------------------------------------


def list_subscriptions(user: Any) -> list[Subscription]:
    """``user``'s subscriptions, oldest first. :raise NotAllowed: not an active member."""
    _require_member(user)
    return list(db.session.scalars(select(Subscription).where(Subscription.user_id == user.id)
                                   .order_by(Subscription.created_at, Subscription.id)))


def find(user: Any, filters: Filters) -> Subscription | None:
    """``user``'s subscription with exactly these filters, if any (``None`` for non-members too)."""
    if not can_subscribe(user):
        return None
    try:
        site = _lookup(Site, filters.site, "site")
        theme = _lookup(Theme, filters.theme, "theme")
    except BadRequest:
        return None
    return db.session.scalar(select(Subscription).where(Subscription.user_id == user.id,
                                                        Subscription.filters_key == _key(filters, site, theme)))


def get_subscription(user: Any, subscription_id: int) -> Subscription:
    """``user``'s own subscription ``subscription_id``.

    :raise NotAllowed: not an active member. :raise NotFound: no such subscription, or another
        member's (the same answer, so ids reveal nothing).
    """
    _require_member(user)
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.user_id != user.id:
        raise NotFound(GONE)
    return subscription


def rename(user: Any, subscription_id: int, name: str) -> Subscription:
    """Rename ``user``'s subscription. :raise BadRequest: empty, too long or with control characters."""
    subscription = get_subscription(user, subscription_id)
    subscription.name = _clean_name(name)
    db.session.commit()
    return subscription


def set_frequency(user: Any, subscription_id: int, frequency: str) -> Subscription:
    """Change how often ``user``'s subscription is sent. :raise BadRequest: not daily, weekly or off."""
    subscription = get_subscription(user, subscription_id)
    subscription.frequency = _frequency(frequency)
    db.session.commit()
    return subscription


def delete(user: Any, subscription_id: int) -> str:
    """Delete ``user``'s subscription; returns its name."""
    subscription = get_subscription(user, subscription_id)
    name = subscription.name
    db.session.delete(subscription)
    db.session.commit()
    return name


# --- what the next digest holds --------------------------------------------------------------


@dataclass(frozen=True)
class PreviewItem:
    """An entry in a digest: ``new`` (published within the period) or materially updated within
    it (``changes``: the edit summaries of its material revisions in the period, oldest first)."""

    entry: Entry
    published: datetime
    updated: datetime
    new: bool
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """What a digest of one subscription holds for the period ``since`` to ``until``."""

    subscription: Subscription
    since: datetime
    until: datetime
    items: tuple[PreviewItem, ...]


def preview(subscription: Subscription, now: datetime, limit: int = PREVIEW_LIMIT) -> Preview:
    """The entries the next digest of ``subscription`` would hold if it were sent at ``now``: those
    matching its filters that its owner may read now, published or materially updated after
    :attr:`Subscription.period_start` and not after ``now``, newest first.

    The caller has checked ownership (:func:`get_subscription`); the owner is the reader, so a
    deactivated member's preview has no network-only entries. :raise BadRequest: filters that no
    longer parse (cannot happen for rows made through :func:`subscribe`).
    """
    since, until = as_utc(subscription.period_start), as_utc(now)
    found = feeds.entries_changed_since(filters_of(subscription), subscription.user, since, limit)
    found = [(entry, published, updated) for entry, published, updated in found if updated <= until]
    changes = feeds.material_changes([entry.id for entry, _, _ in found], since)
    items = tuple(PreviewItem(entry, published, updated, published > since,
                              () if published > since else tuple(changes.get(entry.id, ())))
                  for entry, published, updated in found)
    return Preview(subscription, since, until, items)


