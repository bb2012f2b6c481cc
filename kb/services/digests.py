"""Email digests: one email per member holding what is new in each of their due subscriptions.

:func:`send_digests` (``flask kb send-digests``) finds the subscriptions that are due (once a day
or a week, counted from their creation, :func:`is_due`; ``off`` never; inactive
members never), groups them per member, and for each member composes one email grouped by
subscription: the entries :func:`kb.services.subscriptions.preview` finds for the period, read
as the member *at sending time* (an entry unpublished meanwhile is gone; a member deactivated
meanwhile gets nothing). A member with nothing new gets no email and their periods run on.

Delivery is idempotent and crash-safe through the delivery log: see :mod:`kb.services.digest_log`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import css_inline
from flask import render_template
from markupsafe import Markup
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from kb.database import relaxed_durability
from kb.extensions import db
from kb.links import absolute_url
from kb.mail import MailSender, Message, batched, render_message
from kb.models import DigestRun, Entry, Frequency, Subscription, User
from kb.models.types import as_utc, utcnow
from kb.services import digest_log, digest_workers
from kb.services import subscriptions as subscription_service
from kb.services import unsubscribe
from kb.services.permissions import is_member, visible_entries

log = logging.getLogger(__name__)

INTERVALS = {Frequency.DAILY: timedelta(days=1), Frequency.WEEKLY: timedelta(days=7)}
# A cron job that starts a few minutes early must still find the digest of the day (or week) due.
GRACE = timedelta(minutes=30)
# Entries an email shows per subscription; the rest are counted, with a link to them all (the
# search and the feed hold every one). Ten fit on a screen or two and keep a digest a few dozen KB.
EMAIL_ITEMS = 10


@dataclass(frozen=True)
class Item:
    """An entry in a digest: its id, and its part of the email's plain text and of its HTML
    (``templates/email/digest/_item.*``, rendered once per run however many members get it)."""

    entry_id: int
    text: str
    html: Markup

    @classmethod
    def of(cls, item: subscription_service.PreviewItem) -> Item:
        context = _item_context(item)
        return cls(item.entry.id, render_template("email/digest/_item.txt", item=context),
                   Markup(render_template("email/digest/_item.html", item=context)))  # noqa: S704 - escaped by Jinja


@dataclass(frozen=True)
class Section:
    """One subscription's part of a digest: its entries for the period from ``since``, newest first."""

    subscription: Subscription
    since: datetime
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Digest:
    """One member's email for one period: the sections with something in them."""

    user: User
    sections: tuple[Section, ...]

    @property
    def period_key(self) -> str:
        """Names the period: which subscriptions, and where each one's period starts."""
        periods = sorted((s.subscription.id, _aware(s.subscription.period_start).isoformat()) for s in self.sections)
        return hashlib.sha256(json.dumps([self.user.id, periods]).encode()).hexdigest()

    @property
    def entry_count(self) -> int:
        return sum(len(s.items) for s in self.sections)


@dataclass
class RunReport:
    """What a run did: counts, and for a dry run the lines saying what would be sent."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    run_id: int | None = None
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"Sent {self.sent}, skipped {self.skipped}, failed {self.failed}."


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive UTC; whole seconds, as feeds compare them (kb.services.feeds).
    return as_utc(moment).astimezone(timezone.utc).replace(microsecond=0)


def is_due(subscription: Subscription, now: datetime) -> bool:
    """Is a digest of ``subscription`` due at ``now``? (never for ``off``)

    Digests keep the rhythm the subscription was made with: a weekly one is due once in each week
    counted from its creation (a daily one, once a day), from the first run after that week begins
    (less :data:`GRACE`, for a cron job that starts a few minutes early). A week with nothing new
    sends nothing, and the email goes on the first run that has something; the week after, it is
    back on its usual day, rather than a week after the day it went.
    """
    interval = INTERVALS.get(subscription.frequency)
    if interval is None:
        return False
    created, now = _aware(subscription.created_at), _aware(now)
    rounds = (now + GRACE - created) // interval
    if rounds < 1:
        return False
    this_round = created + rounds * interval
    return subscription.last_sent_at is None or _aware(subscription.last_sent_at) < this_round - GRACE


def due_by_member(now: datetime) -> list[tuple[User, list[Subscription]]]:
    """Active members with due subscriptions, each with those subscriptions (oldest first)."""
    rows = db.session.scalars(
        select(Subscription).join(User, User.id == Subscription.user_id)
        .where(Subscription.frequency != Frequency.OFF, User.active.is_(True))
        .options(selectinload(Subscription.user), selectinload(Subscription.site), selectinload(Subscription.theme))
        .order_by(Subscription.user_id, Subscription.created_at, Subscription.id))
    members: dict[int, tuple[User, list[Subscription]]] = {}
    for subscription in rows:
        if is_due(subscription, now):
            members.setdefault(subscription.user_id, (subscription.user, []))[1].append(subscription)
    return list(members.values())


class Matches:
    """What each distinct subscription matches, found once per run and shared by every member
    with the same filters, period and kind of reader (many members follow the same site or
    theme): the key is ``(filters_key, period start, member or not)``, which is all that
    :func:`kb.services.subscriptions.preview` depends on. Found entries are kept as plain values,
    so the commits between members cost no reloading.

    Whether the member may read each entry is checked again for every member when their email
    is composed (:func:`compose`), so an entry unpublished during a run is not sent to anyone
    composed after that.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.found: dict[tuple, tuple[datetime, tuple[Item, ...]]] = {}
        self.items: dict[tuple, Item] = {}

    def of(self, subscription: Subscription) -> tuple[datetime, tuple[Item, ...]]:
        key = (subscription.filters_key, _aware(subscription.period_start), is_member(subscription.user))
        if key not in self.found:
            preview = subscription_service.preview(subscription, self.now)
            self.found[key] = (preview.since, tuple(self._item(i) for i in preview.items))
        return self.found[key]

    def _item(self, found: subscription_service.PreviewItem) -> Item:
        # An entry's part of an email depends only on the entry and what the period did to it:
        # rendered once, however many subscriptions find it.
        key = (found.entry.id, found.new, found.changes)
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = Item.of(found)
        return item


def compose(user: User, due: Iterable[Subscription], now: datetime, matches: Matches | None = None) -> Digest:
    """The digest ``user`` would get at ``now`` (sections without entries left out), holding only
    entries ``user`` may read now (one query). An inactive member's digest is empty."""
    if not user.active:
        return Digest(user, ())
    matches = matches or Matches(now)
    found = [(subscription, *matches.of(subscription)) for subscription in due]
    ids = {item.entry_id for _, _, items in found for item in items}
    readable = set(db.session.scalars(_readable(user), {"ids": list(ids)})) if ids else set()
    sections = []
    for subscription, since, items in found:
        items = tuple(item for item in items if item.entry_id in readable)
        if items:
            sections.append(Section(subscription, since, items))
    return Digest(user, tuple(sections))


_READABLE: dict[bool, Select] = {}


def _readable(user: User) -> Select:
    # Built once per kind of reader (a member reads what an anonymous reader does not), with the
    # ids bound at each use: composing runs once per member, thousands of times in a run.
    member = is_member(user)
    if member not in _READABLE:
        _READABLE[member] = select(Entry.id).where(Entry.id.in_(bindparam("ids", expanding=True)),
                                                   visible_entries(user))
    return _READABLE[member]


def render(digest: Digest) -> Message:
    """The email of ``digest``: plain text and HTML with inline styles, and RFC 8058 headers."""
    everything = absolute_url("digests.unsubscribe", token=unsubscribe.token(digest.user.id))
    sections = [_section_context(digest.user, section) for section in digest.sections]
    message = render_message(
        "digest", digest.user.email, user=digest.user, sections=sections, count=digest.entry_count,
        unsubscribe_all=everything, manage=absolute_url("subscriptions.index"))
    return dataclasses.replace(
        message, html=css_inline.inline(message.html),
        headers=(("List-Unsubscribe", f"<{everything}>"),
                 ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")))


def _section_context(user: User, section: Section) -> dict:
    subscription = section.subscription
    kind, values = subscription_service.feed_target(subscription)
    return {
        "name": subscription.name,
        "frequency": subscription.frequency.label.lower(),
        "since": section.since,
        "search": absolute_url("search.index", **subscription_service.search_args(subscription)),
        "unsubscribe": absolute_url("digests.unsubscribe", token=unsubscribe.token(user.id, subscription)),
        "count": len(section.items),
        "entries": section.items[:EMAIL_ITEMS],
        "more": max(0, len(section.items) - EMAIL_ITEMS),
        # The rest are the newest after those shown: the same search, newest first.
        "newest": absolute_url("search.index", **{**subscription_service.search_args(subscription), "sort": "newest"}),
        "feed": absolute_url(f"feeds.{kind}", fmt="atom", **values),
    }


def _item_context(item: subscription_service.PreviewItem) -> dict:
    entry = item.entry
    return {
        "title": entry.title, "summary": entry.summary, "new": item.new, "changes": list(item.changes),
        "site": entry.site.name if entry.site else "", "type": entry.type.label,
        "themes": [(tag.theme.name, tag.polarity.label.lower()) for tag in entry.theme_tags],
        "link": absolute_url("entries.show", slug=entry.slug),
    }


# --- the run -------------------------------------------------------------------------------------


Progress = Callable[[list], Iterable]


def send_digests(now: datetime, sender: MailSender, *, dry_run: bool = False,
                 progress: Progress | None = None) -> RunReport:
    """Send every due digest as of ``now`` (the end of every period sent) through ``sender``.

    A member counts as *sent*, *skipped* (nothing new, or another run has or had their digest
    for this period) or *failed* (the sender raised, or their digest could not be put together;
    they are retried next run). One member's failure never stops the others'. With
    ``dry_run`` nothing is sent or recorded: ``lines`` says who would get how many entries.

    The run lets go of the session's objects before each member (they are read afresh), so
    objects the caller loaded before are detached afterwards.
    """
    now = _aware(now)
    report = RunReport()
    run = None
    if not dry_run:
        run = DigestRun(period_end=now, started_at=utcnow(), sent=0, skipped=0, failed=0)
        db.session.add(run)
        db.session.commit()
        report.run_id = run.id
    due = due_by_member(now)
    members, matches = [user.id for user, _ in due], Matches(now)
    workers = digest_workers.how_many(sender, len(members), dry_run)
    if workers > 1:
        for subscription in (subscription for _, subscriptions in due for subscription in subscriptions):
            matches.of(subscription)  # each distinct one searched once, here, for every worker
        digest_workers.send_shared(members, matches, workers, report, progress)
    else:
        send_to(progress(members) if progress else members, matches, sender, dry_run, report)
    if run is not None:
        run = db.session.get(DigestRun, report.run_id)
        run.sent, run.skipped, run.failed, run.finished_at = report.sent, report.skipped, report.failed, utcnow()
        db.session.commit()
    return report


def send_to(members: Iterable[int], matches: Matches, sender: MailSender, dry_run: bool, report: RunReport) -> None:
    """Send the digests of ``members`` (ids) in turn through ``sender``, counting in ``report``."""
    # One SMTP connection for them all; and on SQLite, commits that do not each wait for the disk:
    # a claim or a "sent" lost to a power cut means a digest sent again, which the log allows.
    with batched(sender) as sending, relaxed_durability(db.engine):
        for user_id in members:
            try:
                _send_one(user_id, matches, sending, dry_run, report)
            except Exception:  # noqa: BLE001 - a bug or bad data in one digest must not stop the rest
                db.session.rollback()
                log.exception("digest for member %s could not be sent; it is tried again next run", user_id)
                report.failed += 1


_SUBSCRIPTIONS_OF = (select(Subscription).where(Subscription.user_id == bindparam("user_id"))
                     .options(joinedload(Subscription.site), joinedload(Subscription.theme))
                     .order_by(Subscription.created_at, Subscription.id))


def _send_one(user_id: int, matches: Matches, sender: MailSender, dry_run: bool, report: RunReport) -> None:
    now = matches.now
    # Each member is read afresh, with their subscriptions and what those follow in one query:
    # whatever changed since the run started (a deactivation, an unsubscribe) counts. The earlier
    # members' rows are let go rather than expired, so the session never grows with the run.
    db.session.expunge_all()
    user = db.session.get(User, user_id)
    due = [s for s in db.session.scalars(_SUBSCRIPTIONS_OF, {"user_id": user_id}) if is_due(s, now)]
    digest = compose(user, due, now, matches) if user is not None else None
    if digest is None or not digest.sections:
        report.skipped += 1
        return
    if dry_run:
        names = ", ".join(f"{s.subscription.name} ({len(s.items)})" for s in digest.sections)
        report.lines.append(f"{user.email}: {digest.entry_count} entries: {names}")
        report.sent += 1
        return
    message, record = render(digest), _record(digest)
    claim = digest_log.claim(record, now, report.run_id)
    if claim is None:
        report.skipped += 1
        return
    try:
        sender.send(message)
    except Exception as error:  # noqa: BLE001 - any failure: record it, retry next run
        digest_log.finish(record, claim, now, f"{type(error).__name__}: {error}")
        report.failed += 1
        return
    digest_log.finish(record, claim, now, None)
    report.sent += 1


def _record(digest: Digest) -> digest_log.Record:
    # Taken before any commit expires the rows it comes from.
    return digest_log.Record(digest.user.id, digest.period_key, tuple(s.subscription.id for s in digest.sections),
                             tuple(i.entry_id for s in digest.sections for i in s.items))
