"""The life of an entry: draft → in review → published → archived, and back to draft.

=================  ===================  ==========================================
step               from                 who
=================  ===================  ==========================================
submit_for_review  draft                editors and leads of the entry's site
publish_entry      draft, in review     leads of the entry's site
archive_entry      published            leads of the entry's site
return_to_draft    in review            editors and leads (an editor withdraws)
return_to_draft    published, archived  leads of the entry's site
=================  ===================  ==========================================

(admins count as leads everywhere.) Each step is a revision, so the history shows who moved
the entry and when. Submitting emails the site's leads — or the administrators, if the site has
no lead — after the commit; publishing records who published and when, in the entry and in the
audit log. The search index follows by itself: it is updated after every commit.

Steps race safely with saves and with each other: each claims the entry's next version before
writing (:mod:`kb.services.versions`), and one that lost starts again from the winner's state —
where its permission or starting status may no longer hold (two leads archiving at once: the
second is told the entry is no longer published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select

from kb import textcheck
from kb.extensions import db
from kb.links import absolute_url
from kb.mail import MailSender, Message, deliver, render_message
from kb.models import Entry, EntryStatus, Membership, NetworkRole, SiteRole, User
from kb.services import audit
from kb.services.authoring import entry_for
from kb.services.entries import record_revision
from kb.services.errors import BadRequest
from kb.services.permissions import can_archive, can_publish, can_return_to_draft, can_submit
from kb.services.versions import lock_entry, retrying

MAX_NOTE = 1000


@dataclass
class StepOutcome:
    """The entry after the step, and any emails that could not be sent."""

    entry: Entry
    undelivered: list[Message] = field(default_factory=list)


def _step(user: Any, slug: str, allowed: Callable[[Any, Entry], bool], to: EntryStatus, *,
          now: datetime, summary: str, then: Callable[[Entry], None] = lambda entry: None) -> Entry:
    """Move entry ``slug`` to status ``to`` as a revision, run ``then`` (e.g. audit), and commit."""
    def attempt() -> Entry:
        entry = entry_for(user, slug, allowed)
        entry.status = to
        record_revision(entry, author=user, now=now, summary=summary)
        then(entry)
        db.session.commit()
        return entry
    return retrying(attempt, what="change of status", lock=lambda: lock_entry(slug))


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if problem := textcheck.problem(note, multiline=True):
        raise BadRequest(f"The note to the site's leads {problem}.")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"The note to the site's leads must be {MAX_NOTE} characters or fewer.")
    return note


def reviewers(entry: Entry) -> list[User]:
    """Who reviews ``entry``: its site's active leads, or the active admins if it has none."""
    leads = list(db.session.scalars(
        select(User).join(Membership).where(
            Membership.site_id == entry.site_id, Membership.role == SiteRole.LEAD, User.active.is_(True))
        .order_by(User.email)))
    if leads:
        return leads
    return list(db.session.scalars(
        select(User).where(User.network_role == NetworkRole.ADMIN, User.active.is_(True)).order_by(User.email)))


def submit_for_review(user: Any, slug: str, *, now: datetime, sender: MailSender, note: str = "") -> StepOutcome:
    """Send a draft for review, and email its reviewers (see :func:`reviewers`) a link to it.

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_submit`.
    :raise BadRequest: for a note that is too long.
    """
    note = _note(note)
    entry = _step(user, slug, can_submit, EntryStatus.IN_REVIEW, now=now, summary="Submitted for review")
    link = absolute_url("entries.show", slug=entry.slug)
    messages = [
        render_message("review_requested", person.email, reviewer=person, author=user, entry=entry,
                       note=note, link=link)
        for person in reviewers(entry) if person.id != getattr(user, "id", None)
    ]
    return StepOutcome(entry, deliver(sender, messages))


def publish_entry(user: Any, slug: str, *, now: datetime) -> StepOutcome:
    """Publish a draft or an entry in review, recording who published it and when.

    The published date is kept if the entry had one (an entry returned to draft and published
    again keeps its first date) and otherwise becomes today.

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_publish`.
    """
    def attempt() -> Entry:
        entry = entry_for(user, slug, can_publish)
        entry.status = EntryStatus.PUBLISHED
        if entry.published_on is None:
            entry.published_on = now.date()
        elif now.date() > entry.published_on:
            entry.updated_on = now.date()
        entry.published_by_id = getattr(user, "id", None)
        entry.published_at = now
        record_revision(entry, author=user, now=now, summary="Published")
        audit.record("entry_published", actor=user, subject=f"entry:{entry.slug}", now=now,
                     version=entry.version, title=entry.title)
        db.session.commit()
        return entry
    return StepOutcome(retrying(attempt, what="publication", lock=lambda: lock_entry(slug)))


def archive_entry(user: Any, slug: str, *, now: datetime) -> StepOutcome:
    """Archive a published entry: readers no longer see it; its history stays.

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_archive`.
    """
    entry = _step(user, slug, can_archive, EntryStatus.ARCHIVED, now=now, summary="Archived",
                  then=lambda entry: audit.record("entry_archived", actor=user, subject=f"entry:{entry.slug}",
                                                  now=now, version=entry.version))
    return StepOutcome(entry)


def return_to_draft(user: Any, slug: str, *, now: datetime) -> StepOutcome:
    """Move an entry back to draft (withdrawn from review, or taken down for rework).

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_return_to_draft`.
    """
    entry = _step(user, slug, can_return_to_draft, EntryStatus.DRAFT, now=now, summary="Returned to draft")
    return StepOutcome(entry)
