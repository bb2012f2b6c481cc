"""What the people who review an entry need to see before they act on it: read-only.

* :func:`review_context` — for an entry in review: who submitted it, when, their note to the
  leads, and the revision last published (to compare the current version with), or None if it
  never was. Only the entry's editors and leads (and admins) get it: for anyone else it is None,
  so a page can never show it to a reader.
* :func:`return_note` — for a draft a lead returned: who returned it, when, and their note to
  the editor, until it is submitted again (the same people only).
* :func:`submission_check` — the "Check your entry" page before submitting: every field the
  readers will see, as rows with the editor's anchor to change each.
* :func:`publication_check` — the confirmation page before publishing: what will be published,
  at which version, and who will be able to read it.

The steps themselves (submit, publish, return) are :mod:`kb.services.workflow`; the note and
submitter are recorded there, as an ``entry_submitted`` audit event in the submitting step's
transaction (with its revision number and the note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import AuditEvent, Entry, EntryStatus, Revision, SiteRole, User, Visibility
from kb.services.authoring import entry_for
from kb.services.errors import Conflict, NotAllowed
from kb.services.permissions import can_publish, can_submit, can_work_on, site_role
from kb.services.records import entry_record
from kb.services.revisions import names_for  # the one place that names a record's slugs
from kb.services.revisions import describe

# The summary of the revision a submission makes (kb.services.workflow writes it).
SUBMITTED = "Submitted for review"
SUBMITTED_EVENT = "entry_submitted"
RETURNED_EVENT = "entry_returned"


@dataclass(frozen=True)
class ReviewContext:
    """An entry in review, as its reviewers need to see it.

    ``submitted_by``/``submitted_at`` are None when the submission was not recorded (an entry
    imported as in review); ``last_published`` is the number of the latest revision in which
    the entry was published, None if it never was.
    """

    entry: Entry
    submitted_by: User | None
    submitted_at: datetime | None
    note: str
    last_published: int | None

    @property
    def current(self) -> int:
        return self.entry.version


def review_context(user: Any, entry: Entry) -> ReviewContext | None:
    """The review context of ``entry`` for ``user``, or None: when the entry is not in review,
    or ``user`` does not work on it (readers, other sites' people, anonymous visitors)."""
    if entry.status != EntryStatus.IN_REVIEW or not can_work_on(user, entry):
        return None
    who, when, note = submission(entry)
    return ReviewContext(entry, who, when, note, last_published_revision(entry))


def submission(entry: Entry) -> tuple[User | None, datetime | None, str]:
    """Who last submitted ``entry`` for review, when, and their note (``(None, None, "")`` if
    no submission was recorded). No permission check: for services that have made theirs."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == SUBMITTED_EVENT, AuditEvent.subject == f"entry:{entry.slug}")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(1)
        .options(selectinload(AuditEvent.actor))
    )
    if event is not None:
        return event.actor, event.created_at, str((event.detail or {}).get("note") or "")
    # Submitted before notes were kept: the submitting revision still says who and when.
    revision = db.session.scalar(
        select(Revision)
        .where(Revision.entry_id == entry.id, Revision.summary == SUBMITTED)
        .order_by(Revision.number.desc())
        .limit(1)
        .options(selectinload(Revision.author))
    )
    if revision is None:
        return None, None, ""
    return revision.author, revision.created_at, ""


def last_published_revision(entry: Entry) -> int | None:
    """The number of ``entry``'s latest revision whose snapshot is published, or None."""
    return db.session.scalar(
        select(Revision.number)
        .where(Revision.entry_id == entry.id, Revision.snapshot["status"].as_string() == EntryStatus.PUBLISHED.value)
        .order_by(Revision.number.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class ReturnNote:
    """Why a lead sent an entry back to draft (``returned_by`` None if that account is gone)."""

    returned_by: User | None
    returned_at: datetime
    note: str


def return_note(user: Any, entry: Entry) -> ReturnNote | None:
    """For a draft whose last workflow step was a return to draft: who returned it, when and
    their note; None for any other entry, and for anyone who does not work on it."""
    if entry.status != EntryStatus.DRAFT or not can_work_on(user, entry):
        return None
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action.in_([SUBMITTED_EVENT, RETURNED_EVENT]), AuditEvent.subject == f"entry:{entry.slug}")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(1)
        .options(selectinload(AuditEvent.actor))
    )
    if event is None or event.action != RETURNED_EVENT:
        return None
    return ReturnNote(event.actor, event.created_at, str((event.detail or {}).get("note") or ""))


# --- "Check your entry" ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    """One row of the check page: a field's label, its value as lines, and the editor's anchor."""

    name: str
    label: str
    lines: list[str]
    anchor: str


@dataclass(frozen=True)
class SubmissionCheck:
    entry: Entry
    rows: list[CheckRow]


# Fields shown on the check page, in the editor's order: (record field, id of its place in the
# editor, for the "Change" link: the field itself, or the editor's section for a list of rows).
# Prose fields are shown as they are; the rest as kb.services.revisions describes them.
_CHECKED = (
    ("title", "title"), ("type", "type"), ("site", "site"), ("other_sites", "other_sites"),
    ("summary", "summary"), ("visibility", "visibility"), ("review_by", "review_by"), ("body", "body"),
    ("themes", "editor-themes"), ("sources", "editor-sources"), ("links", "editor-links"),
    ("evidence.design", "editor-evidence"), ("evidence.strength", "editor-evidence"),
    ("evidence.provenance", "editor-evidence"), ("evidence.outcomes", "editor-evidence"),
)
_PROSE_LABELS = {"title": "Title", "summary": "Summary", "body": "Text"}
_LABELS = {"themes": "Enablers and barriers", "visibility": "Who can read it once published"}


def submission_check(user: Any, slug: str) -> SubmissionCheck:
    """The draft ``slug`` as its editor checks it before submitting it for review.

    :raise NotFound: for no such entry, or one ``user`` may not know of.
    :raise NotAllowed: if ``user`` may not submit it (not a draft, or not their site's).
    """
    entry = entry_for(user, slug, allowed=lambda _user, _entry: True)
    if not can_submit(user, entry):
        raise NotAllowed(why_not_submittable(user, entry))
    record = entry_record(entry)
    described = {name: (label, lines) for name, label, lines in describe(record, names_for(user, record))}
    rows = []
    for name, anchor in _CHECKED:
        if name in _PROSE_LABELS:
            text = str(record.get(name) or "")
            lines = [f"{len(text.split()):,} words"] if name == "body" else [text] if text else []
            rows.append(CheckRow(name, _PROSE_LABELS[name], lines, anchor))
        elif name in described:
            label, lines = described[name]
            rows.append(CheckRow(name, _LABELS.get(name, label), lines, anchor))
    return SubmissionCheck(entry, rows)


def why_not_submittable(user: Any, entry: Entry) -> str:
    """Why ``user`` may not submit ``entry`` (which :func:`can_submit` refused), in words."""
    if site_role(user, entry.site_id) is None:
        return "Only editors and leads of the entry's site can submit it for review."
    if entry.status == EntryStatus.IN_REVIEW:
        return "This entry has already been submitted for review."
    return f"Only a draft can be submitted for review: this entry is {entry.status.label.lower()}."


# --- confirming publication ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicationCheck:
    """What publishing ``entry`` at ``version`` will do: ``audience`` says who will read it."""

    entry: Entry
    version: int
    audience: str
    last_published: int | None
    submitted_by: User | None


AUDIENCES = {
    Visibility.PUBLIC: "Everyone: anyone on the internet can read it, and find it in search and feeds.",
    Visibility.NETWORK: "Signed-in members of the network only; it will not be shown to the public.",
}


def publishable(user: Any, slug: str) -> Entry:
    """The entry ``slug``, if ``user`` may publish it now (the rule of :func:`can_publish`).

    :raise NotFound: for no such entry, or one ``user`` may not know of.
    :raise Conflict: (409) for a lead's entry that is already published.
    :raise NotAllowed: otherwise, if ``user`` may not publish it, saying why.
    """
    entry = entry_for(user, slug, allowed=lambda _user, _entry: True)
    if can_publish(user, entry):
        return entry
    role = site_role(user, entry.site_id)
    if role == SiteRole.LEAD and entry.status == EntryStatus.PUBLISHED:
        raise Conflict("This entry is already published: there is nothing more to do.")
    if role == SiteRole.LEAD:  # archived
        raise NotAllowed("An archived entry must be returned to draft before it can be published again.")
    raise NotAllowed("Only a lead of the entry's site can publish it.")


def publication_check(user: Any, slug: str) -> PublicationCheck:
    """The entry ``slug`` as its lead confirms publishing it.

    :raise NotFound / Conflict / NotAllowed: as :func:`publishable` (which
        :func:`kb.services.workflow.publish_entry` asks again when it is confirmed).
    """
    entry = publishable(user, slug)
    who, _when, _note = submission(entry) if entry.status == EntryStatus.IN_REVIEW else (None, None, "")
    return PublicationCheck(entry, entry.version, AUDIENCES[entry.visibility], last_published_revision(entry), who)
