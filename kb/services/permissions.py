"""Who may see and do what. Every service asks here; views only use these to hide links.

Roles:

* anyone (signed in or not) reads entries that are *published* and *public*;
* a **member** — every signed-in, active account — also reads published entries marked
  *network*;
* an **editor** of a site creates entries for that site, edits its drafts and entries in
  review, and submits drafts for review (or withdraws them);
* a **lead** of a site does what an editor does there, and also publishes, archives, returns
  published or archived entries to draft, edits entries whatever their status, and manages the
  site's editors;
* an **admin** may do everything, everywhere, and manages users, sites and themes.

An entry belongs to its main ``site``; being one of its "other sites" gives no rights over it.
Reading rules (``can_view_entry`` / ``visible_entries``) cover *published* entries only, so that
listings, search and feeds never show work in progress; the people who work on an entry see
its drafts through :func:`can_work_on`.

Each action has a ``can_<verb>`` function named after the service that performs it
(``publish_entry`` ↔ :func:`can_publish`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, true

from kb.models import Entry, EntryStatus, NetworkRole, Site, SiteRole, Visibility
from kb.services.errors import NotAllowed

# Which statuses an editor (not a lead) may edit: work that is not yet out in the world.
EDITABLE_BY_EDITORS = frozenset({EntryStatus.DRAFT, EntryStatus.IN_REVIEW})


def is_member(user: Any) -> bool:
    """True for a signed-in, active account (every account is at least a network member)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def is_admin(user: Any) -> bool:
    """True for a signed-in, active administrator."""
    return is_member(user) and user.network_role == NetworkRole.ADMIN


def site_role(user: Any, site: Site | int | None) -> SiteRole | None:
    """``user``'s role at ``site`` (a Site or its id): EDITOR, LEAD or None. Admins count as leads."""
    if not is_member(user):
        return None
    if is_admin(user):
        return SiteRole.LEAD
    if site is None:
        return None
    site_id = site if isinstance(site, int) else site.id
    for membership in user.memberships:
        if membership.site_id == site_id:
            return membership.role
    return None


def authoring_sites(user: Any) -> list[int]:
    """Ids of the sites ``user`` is an editor or lead of (admins: see :func:`is_admin`)."""
    if not is_member(user):
        return []
    return [membership.site_id for membership in user.memberships]


# --- reading -------------------------------------------------------------------------------


def can_view_entry(user: Any, entry: Entry) -> bool:
    """May ``user`` (an account or Flask-Login's anonymous user) *read* ``entry`` as published?"""
    if entry.status != EntryStatus.PUBLISHED:
        return False
    return entry.visibility == Visibility.PUBLIC or is_member(user)


def visible_entries(user: Any) -> ColumnElement[bool]:
    """SQL condition selecting exactly the entries :func:`can_view_entry` allows ``user`` to read."""
    published = Entry.status == EntryStatus.PUBLISHED
    if is_member(user):
        return and_(published, true())
    return and_(published, Entry.visibility == Visibility.PUBLIC)


def can_work_on(user: Any, entry: Entry) -> bool:
    """May ``user`` see ``entry`` whatever its status, with its history? (its site's editors and leads)"""
    return site_role(user, entry.site_id) is not None


def can_know_of(user: Any, entry: Entry) -> bool:
    """May ``user`` learn that ``entry`` exists? If not, every action on it is a 404."""
    return can_view_entry(user, entry) or can_work_on(user, entry)


# --- authoring -----------------------------------------------------------------------------


def can_create_entry(user: Any, site: Site | int | None) -> bool:
    """May ``user`` create an entry belonging to ``site``? (editors and leads of it; admins)"""
    return site_role(user, site) is not None


def can_edit(user: Any, entry: Entry) -> bool:
    """May ``user`` save changes to ``entry`` (or restore one of its revisions)?"""
    role = site_role(user, entry.site_id)
    if role == SiteRole.LEAD:
        return True
    return role == SiteRole.EDITOR and entry.status in EDITABLE_BY_EDITORS


def can_submit(user: Any, entry: Entry) -> bool:
    """May ``user`` send ``entry`` (a draft) for review?"""
    return entry.status == EntryStatus.DRAFT and site_role(user, entry.site_id) is not None


def can_return_to_draft(user: Any, entry: Entry) -> bool:
    """May ``user`` move ``entry`` back to draft? Editors may withdraw from review; leads always."""
    role = site_role(user, entry.site_id)
    if entry.status == EntryStatus.DRAFT or role is None:
        return False
    return role == SiteRole.LEAD or entry.status == EntryStatus.IN_REVIEW


def can_publish(user: Any, entry: Entry) -> bool:
    """May ``user`` publish ``entry`` (a draft or an entry in review)? Leads of its site only."""
    return entry.status in EDITABLE_BY_EDITORS and site_role(user, entry.site_id) == SiteRole.LEAD


def can_archive(user: Any, entry: Entry) -> bool:
    """May ``user`` archive ``entry`` (published)? Leads of its site only."""
    return entry.status == EntryStatus.PUBLISHED and site_role(user, entry.site_id) == SiteRole.LEAD


def can_manage_editors(user: Any, site: Site | int) -> bool:
    """May ``user`` add and remove the editors of ``site``? (its leads; admins)"""
    return site_role(user, site) == SiteRole.LEAD


def can_administer(user: Any) -> bool:
    """May ``user`` manage users, network roles, leads, sites and themes, and read the audit log?"""
    return is_admin(user)


def require_admin(user: Any, message: str) -> None:
    """:raise NotAllowed: with ``message`` unless ``user`` may administer (see :func:`can_administer`)."""
    if not can_administer(user):
        raise NotAllowed(message)


def entry_actions(user: Any, entry: Entry) -> dict[str, bool]:
    """Which authoring actions ``user`` may take on ``entry`` now (for showing buttons only)."""
    return {
        "edit": can_edit(user, entry),
        "submit": can_submit(user, entry),
        "publish": can_publish(user, entry),
        "archive": can_archive(user, entry),
        "return_to_draft": can_return_to_draft(user, entry),
        "history": can_work_on(user, entry),
    }
