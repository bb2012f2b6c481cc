"""People and their roles: a network role for everyone, and editor or lead at particular sites."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.sites import Site
from kb.models.types import LabelledEnum, enum_column, utcnow


class NetworkRole(LabelledEnum):
    MEMBER = "member", "Network member"
    ADMIN = "admin", "Administrator"


class SiteRole(LabelledEnum):
    EDITOR = "editor", "Editor"
    LEAD = "lead", "Site lead"


class User(UserMixin, db.Model):
    """A person with an account. Every signed-in, active user is at least a network member."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    network_role: Mapped[NetworkRole] = mapped_column(
        enum_column(NetworkRole, "network_role"), default=NetworkRole.MEMBER
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Part of the id kept in the session cookie: replacing it (on a password change or
    # deactivation) ends every session signed in with the old one.
    session_token: Mapped[str | None] = mapped_column(String(64))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in for inactive users
        return self.active

    def get_id(self) -> str:
        """What the session stores: ``<id>.<session token>`` (see :func:`kb.services.accounts.load_user`)."""
        return f"{self.id}.{self.session_token or ''}"


class Membership(db.Model):
    """A user's role at one site."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    role: Mapped[SiteRole] = mapped_column(enum_column(SiteRole, "site_role"))

    user: Mapped[User] = relationship(back_populates="memberships")
    site: Mapped[Site] = relationship()
