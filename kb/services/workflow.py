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
no lead — after the commit, and records the submitter's note (an ``entry_submitted`` audit
event, read back by :mod:`kb.services.review` for the entry's page); publishing records who
published and when, in the entry and in the audit log. Publishing or returning an entry that was
in review emails the person who submitted it (with the lead's note, if returned), unless they
took the step themselves. The search index follows by itself: it is updated after every commit.

Publishing can be tied to the version the lead confirmed (``version=``): if the entry changed
since, nothing is published and :class:`~kb.services.errors.Conflict` says so.

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
from kb.services.errors import BadRequest, Conflict, NotAllowed
from kb.services.permissions import can_archive, can_return_to_draft, can_submit
from kb.services.review import SUBMITTED, SUBMITTED_EVENT, publishable, submission, why_not_submittable
from kb.services.versions import lock_entry, retrying

MAX_NOTE = 1000


@dataclass
class StepOutcome:
    """The entry after the step, and any emails that could not be sent."""

    entry: Entry
    undelivered: list[Message] = field(default_factory=list)


def _step(user: Any, slug: str, allowed: Callable[[Any, Entry], bool], to: EntryStatus, *,
          now: datetime, summary: str, then: Callable[[Entry], None] = lambda entry: None,
          before: Callable[[Entry], None] = lambda entry: None) -> Entry:
    """Move entry ``slug`` to status ``to`` as a revision, run ``before`` on the entry as it was
    and ``then`` on it after (e.g. audit), and commit."""
    def attempt() -> Entry:
        entry = entry_for(user, slug, allowed)
        before(entry)
        entry.status = to
        record_revision(entry, author=user, now=now, summary=summary)
        then(entry)
        db.session.commit()
        return entry
    return retrying(attempt, what="change of status", lock=lambda: lock_entry(slug))


def _note(note: str | None, to: str = "the site's leads") -> str:
    note = (note or "").strip()
    if problem := textcheck.problem(note, multiline=True):
        raise BadRequest(f"The note to {to} {problem}.")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"The note to {to} must be {MAX_NOTE} characters or fewer.")
    return note


def _tell_submitter(entry: Entry, submitter: User | None, actor: Any, template: str, sender: MailSender | None,
                    **context: Any) -> list[Message]:
    """Email ``submitter`` about a step ``actor`` took on their entry (not if they took it, or
    their account is closed, or there is no ``sender``); return what could not be sent."""
    if sender is None or submitter is None or not submitter.active or submitter.id == getattr(actor, "id", None):
        return []
    link = absolute_url("entries.show", slug=entry.slug)
    message = render_message(template, submitter.email, person=submitter, actor=actor, entry=entry, link=link,
                             **context)
    return deliver(sender, [message])


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

    def submittable(entry: Entry) -> None:
        if not can_submit(user, entry):  # said plainly: "already submitted" is not "not allowed"
            raise NotAllowed(why_not_submittable(user, entry))

    entry = _step(user, slug, lambda _user, _entry: True, EntryStatus.IN_REVIEW, now=now, summary=SUBMITTED,
                  before=submittable,
                  then=lambda entry: audit.record(SUBMITTED_EVENT, actor=user, subject=f"entry:{entry.slug}",
                                                  now=now, version=entry.version, note=note))
    link = absolute_url("entries.show", slug=entry.slug)
    messages = [
        render_message("review_requested", person.email, reviewer=person, author=user, entry=entry,
                       note=note, link=link)
        for person in reviewers(entry) if person.id != getattr(user, "id", None)
    ]
    return StepOutcome(entry, deliver(sender, messages))


def publish_entry(user: Any, slug: str, *, now: datetime, version: int | None = None,
                  sender: MailSender | None = None) -> StepOutcome:
    """Publish a draft or an entry in review, recording who published it and when.

    The published date is kept if the entry had one (an entry returned to draft and published
    again keeps its first date) and otherwise becomes today. ``version``: the version the lead
    confirmed; if the entry has changed since, nothing is published. An entry that was in
    review: its submitter is emailed (through ``sender``, after the commit; see module notes).

    :raise NotFound / NotAllowed / Conflict: see :func:`kb.services.review.publishable`.
    :raise Conflict: if the entry is no longer at ``version``.
    """
    submitted: list[User | None] = [None]

    def attempt() -> Entry:
        entry = publishable(user, slug)
        if version is not None and entry.version != version:
            message = (f"This entry has changed since you opened this page: it was at revision {version} and is "
                       f"now at revision {entry.version}. It has not been published. Check the changes, then "
                       "confirm again.")
            db.session.rollback()  # nothing written; let go of any lock a retry took
            raise Conflict(message)
        submitted[0] = submission(entry)[0] if entry.status == EntryStatus.IN_REVIEW else None
        entry.status = EntryStatus.PUBLISHED
        if entry.published_on is None:
            entry.published_on = now.date()
        elif now.date() > entry.published_on:
            entry.updated_on = now.date()
        entry.published_by_id = getattr(user, "id", None)
        entry.published_at = now
        entry.reviewed_on = now.date()  # a lead read it through before publishing: "Last reviewed"
        record_revision(entry, author=user, now=now, summary="Published")
        audit.record("entry_published", actor=user, subject=f"entry:{entry.slug}", now=now,
                     version=entry.version, title=entry.title)
        db.session.commit()
        return entry
    entry = retrying(attempt, what="publication", lock=lambda: lock_entry(slug))
    return StepOutcome(entry, _tell_submitter(entry, submitted[0], user, "entry_published", sender))


def archive_entry(user: Any, slug: str, *, now: datetime) -> StepOutcome:
    """Archive a published entry: readers no longer see it; its history stays.

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_archive`.
    """
    entry = _step(user, slug, can_archive, EntryStatus.ARCHIVED, now=now, summary="Archived",
                  then=lambda entry: audit.record("entry_archived", actor=user, subject=f"entry:{entry.slug}",
                                                  now=now, version=entry.version))
    return StepOutcome(entry)


def return_to_draft(user: Any, slug: str, *, now: datetime, note: str = "",
                    sender: MailSender | None = None) -> StepOutcome:
    """Move an entry back to draft (withdrawn from review, or taken down for rework).

    An entry that was in review: its submitter is emailed, with ``note`` (the reason, for
    example what to change), unless they returned it themselves.

    :raise NotFound / NotAllowed: see :func:`kb.services.permissions.can_return_to_draft`.
    :raise BadRequest: for a note that is too long or holds control characters.
    """
    note = _note(note, to="the editor")
    submitted: list[User | None] = [None]

    def remember(entry: Entry) -> None:
        # Read in the step's transaction, before the status changes: only a review has a submitter.
        submitted[0] = submission(entry)[0] if entry.status == EntryStatus.IN_REVIEW else None

    def step(entry: Entry) -> None:
        audit.record("entry_returned", actor=user, subject=f"entry:{entry.slug}", now=now,
                     version=entry.version, note=note)

    entry = _step(user, slug, can_return_to_draft, EntryStatus.DRAFT, now=now, summary="Returned to draft",
                  before=remember, then=step)
    return StepOutcome(entry, _tell_submitter(entry, submitted[0], user, "entry_returned", sender, note=note))
