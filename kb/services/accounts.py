"""Accounts. Sign-in, invitations and roles arrive with the accounts issue; for now, loading."""

from __future__ import annotations

from kb.extensions import db
from kb.models import User


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user with this id, or None."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None
