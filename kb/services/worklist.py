"""What an author works with: their entries by site and status, the published ones due for
review, the sites they may write for, the choices the editor offers, and who changed an entry
while they were editing it.

Read-only: nothing here writes or commits. Permissions come from :mod:`kb.services.permissions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import Entry, EntryStatus, Revision, Site, SiteRole, Theme, User
from kb.services.permissions import authoring_sites, can_edit, is_admin, is_member, site_role

# Each list on the dashboard shows at most this many entries (newest change first); the rest
# are counted and reachable through the site's page and search.
LIST_LIMIT = 50
# Fields a workflow step changes; they are not "changes to the entry" for a person editing it.
_WORKFLOW_FIELDS = frozenset({"status", "published", "updated", "reviewed"})

_EDITOR_ORDER = (EntryStatus.DRAFT, EntryStatus.IN_REVIEW, EntryStatus.PUBLISHED, EntryStatus.ARCHIVED)
# Leads review: what waits for them comes first.
_LEAD_ORDER = (EntryStatus.IN_REVIEW, EntryStatus.DRAFT, EntryStatus.PUBLISHED, EntryStatus.ARCHIVED)
_UNFINISHED = (EntryStatus.IN_REVIEW, EntryStatus.DRAFT)


@dataclass
class WorkItem:
    """An entry on someone's list, and whether they may open it in the editor."""

    entry: Entry
    editable: bool


@dataclass
class StatusList:
    """The entries of one site in one status (``total`` may exceed ``len(items)``)."""

    status: EntryStatus
    items: list[WorkItem]
    total: int


@dataclass
class SiteWork:
    """One site's entries as ``role`` sees them. ``role`` is None for an administrator who is
    not a member of the site: they are shown its drafts and reviews only."""

    site: Site
    role: SiteRole | None
    lists: list[StatusList] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        """How many entries wait for review."""
        return sum(lst.total for lst in self.lists if lst.status == EntryStatus.IN_REVIEW)


def author_sites(user: Any) -> list[Site]:
    """The sites ``user`` may create entries for, by name: every site for admins, else their memberships."""
    if not is_member(user):
        return []
    query = select(Site).order_by(Site.name)
    if not is_admin(user):
        ids = authoring_sites(user)
        if not ids:
            return []
        query = query.where(Site.id.in_(ids))
    return list(db.session.scalars(query))


def due_for_review(user: Any, today: date) -> list[WorkItem]:
    """Published entries whose review-by date has come (on or before ``today``), the longest
    overdue first: of the sites ``user`` edits or leads, or every entry (programme-wide ones
    too) for an administrator. Each says whether ``user`` may open it in the editor (leads and
    administrators may; an editor asks a lead)."""
    if not is_member(user):
        return []
    query = select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.review_by.is_not(None),
                                Entry.review_by <= today)
    if not is_admin(user):
        ids = authoring_sites(user)
        if not ids:
            return []
        query = query.where(Entry.site_id.in_(ids))
    entries = db.session.scalars(query.order_by(Entry.review_by, Entry.title).options(selectinload(Entry.site)))
    return [WorkItem(entry, can_edit(user, entry)) for entry in entries]


@dataclass(frozen=True)
class EditorChoices:
    """What the editor's selects offer: every site and every theme, in display order."""

    sites: list[Site]
    themes: list[Theme]


def editor_choices() -> EditorChoices:
    """Every site (by name) and every theme (by group position, then name)."""
    return EditorChoices(
        sites=list(db.session.scalars(select(Site).order_by(Site.name))),
        themes=list(db.session.scalars(select(Theme).order_by(Theme.position, Theme.name))),
    )


def worklist(user: Any) -> list[SiteWork]:
    """"Your entries": for each site ``user`` edits or leads, its entries by status.

    Editors see drafts, entries in review, published and archived; leads see the entries
    waiting for review first. Administrators also see every other site that has drafts or
    entries in review (those two lists only). Sites come in name order.
    """
    if not is_member(user):
        return []
    member_of = set(authoring_sites(user))
    if is_admin(user):
        busy = set(db.session.scalars(select(Entry.site_id).where(
            Entry.status.in_(_UNFINISHED), Entry.site_id.is_not(None)).distinct()))
        site_ids = member_of | busy
    else:
        site_ids = member_of
    if not site_ids:
        return []
    counts: dict[tuple[int, EntryStatus], int] = {
        (site_id, status): n for site_id, status, n in db.session.execute(
            select(Entry.site_id, Entry.status, func.count(Entry.id))
            .where(Entry.site_id.in_(site_ids)).group_by(Entry.site_id, Entry.status))
    }
    work = []
    for site in db.session.scalars(select(Site).where(Site.id.in_(site_ids)).order_by(Site.name)):
        if site.id in member_of:
            role = site_role(user, site.id)  # admins count as leads everywhere
            order = _LEAD_ORDER if role == SiteRole.LEAD else _EDITOR_ORDER
        else:
            role, order = None, _UNFINISHED
        lists = [_status_list(user, site, status, counts.get((site.id, status), 0)) for status in order]
        work.append(SiteWork(site, role, lists))
    return work


def _status_list(user: Any, site: Site, status: EntryStatus, total: int) -> StatusList:
    if not total:
        return StatusList(status, [], 0)
    entries = db.session.scalars(
        select(Entry).where(Entry.site_id == site.id, Entry.status == status)
        .order_by(Entry.modified_at.desc(), Entry.title).limit(LIST_LIMIT)
        .options(selectinload(Entry.site)))
    return StatusList(status, [WorkItem(entry, can_edit(user, entry)) for entry in entries], total)


@dataclass(frozen=True)
class ChangesSince:
    """What other saves changed in an entry between two of its revisions."""

    authors: list[str]
    fields: list[str]


def changes_between(entry: Entry, since: int, before: int) -> ChangesSince:
    """Who saved ``entry`` after revision ``since`` and before revision ``before``, and which
    fields of its record (workflow fields aside) differ between those two points.

    Used to tell someone whose save was merged with another person's what was combined.
    """
    if before - 1 <= since:
        return ChangesSince([], [])
    snapshots = dict(db.session.execute(
        select(Revision.number, Revision.snapshot)
        .where(Revision.entry_id == entry.id, Revision.number.in_([since, before - 1]))).all())
    old, new = snapshots.get(since) or {}, snapshots.get(before - 1) or {}
    fields = [key for key in dict.fromkeys([*new, *old])
              if key not in _WORKFLOW_FIELDS and old.get(key) != new.get(key)]
    authors = list(dict.fromkeys(db.session.scalars(
        select(User.name).join(Revision, Revision.author_id == User.id)
        .where(Revision.entry_id == entry.id, Revision.number > since, Revision.number < before)
        .order_by(Revision.number))))
    return ChangesSince(authors, fields)
