"""The audit log: security-relevant events, recorded by the services that cause them.

Events are added to the caller's transaction (:func:`record`), so an event is stored exactly
when the change it describes is; the one exception is a failed sign-in, which changes nothing
else and is committed on its own (:func:`record_now`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import AuditEvent
from kb.services.errors import BadRequest, NotAllowed
from kb.services.permissions import can_administer

# Every action the log knows, with the words the admin page uses for it.
ACTIONS: dict[str, str] = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in failed",
    "sign_out": "Signed out",
    "password_changed": "Password changed",
    "password_reset_requested": "Password reset requested",
    "password_reset": "Password reset",
    "user_invited": "Invited",
    "invitation_accepted": "Invitation accepted",
    "user_deactivated": "Account deactivated",
    "user_reactivated": "Account reactivated",
    "network_role_changed": "Network role changed",
    "site_role_changed": "Site role changed",
    "entry_submitted": "Entry submitted for review",
    "entry_published": "Entry published",
    "entry_returned": "Entry returned to draft",
    "entry_archived": "Entry archived",
    "entry_imported": "Entry status or visibility set by import",
    "site_saved": "Site saved",
    "theme_saved": "Theme saved",
}


def event_values(action: str, *, actor: Any, subject: str, now: datetime, client: str | None = None,
                 **detail: Any) -> dict[str, Any]:
    """The column values of an event, as :func:`record` stores them (for a bulk insert of many)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return {
        "created_at": now,
        "actor_id": getattr(actor, "id", None),
        "action": action,
        "subject": subject[:300],
        "detail": detail,
        "client": (client or None) and client[:64],
    }


def record(action: str, *, actor: Any, subject: str, now: datetime, client: str | None = None,
           **detail: Any) -> AuditEvent:
    """Add an event to the current transaction (committed, or rolled back, with the change)."""
    event = AuditEvent(**event_values(action, actor=actor, subject=subject, now=now, client=client, **detail))
    db.session.add(event)
    return event


def record_now(action: str, *, actor: Any, subject: str, now: datetime, client: str | None = None,
               **detail: Any) -> None:
    """Record an event in a transaction of its own (for events that change nothing else)."""
    record(action, actor=actor, subject=subject, now=now, client=client, **detail)
    db.session.commit()


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int
    action: str | None


def list_events(user: Any, *, action: str | None = None, page: int = 1, per_page: int = 50) -> AuditPage:
    """The log, newest first, optionally one kind of action.

    :raise NotAllowed: unless ``user`` is an admin.
    :raise BadRequest: for an unknown action or a page beyond the last.
    """
    if not can_administer(user):
        raise NotAllowed("Only administrators can read the audit log.")
    if action and action not in ACTIONS:
        raise BadRequest("Choose an action from the list.")
    query = select(AuditEvent)
    count = select(func.count(AuditEvent.id))
    if action:
        query = query.where(AuditEvent.action == action)
        count = count.where(AuditEvent.action == action)
    total = db.session.scalar(count) or 0
    pages = max(1, -(-total // per_page))
    if page < 1 or page > pages:
        raise BadRequest(f"There is no page {page}: the log has {pages} page{'s' if pages != 1 else ''}.")
    events = db.session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(selectinload(AuditEvent.actor))
    )
    return AuditPage(list(events), page, pages, total, action or None)
