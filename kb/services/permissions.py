"""Who may see and do what. Every service asks here; views only use these to hide links.

Readers' rules, for now (authoring roles arrive with the accounts issue):

* anyone may read an entry that is *published* and *public*;
* a signed-in, active network member may also read *published* entries marked *network*;
* drafts, entries in review and archived entries are shown to nobody through the reading pages yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, true

from kb.models import Entry, EntryStatus, Visibility


def is_member(user: Any) -> bool:
    """True for a signed-in, active account (every account is at least a network member)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def can_view_entry(user: Any, entry: Entry) -> bool:
    """May ``user`` (an account or Flask-Login's anonymous user) read ``entry``?"""
    if entry.status != EntryStatus.PUBLISHED:
        return False
    return entry.visibility == Visibility.PUBLIC or is_member(user)


def visible_entries(user: Any) -> ColumnElement[bool]:
    """SQL condition selecting exactly the entries :func:`can_view_entry` allows ``user`` to read."""
    published = Entry.status == EntryStatus.PUBLISHED
    if is_member(user):
        return and_(published, true())
    return and_(published, Entry.visibility == Visibility.PUBLIC)
