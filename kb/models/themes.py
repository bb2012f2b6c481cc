"""Themes: the enablers and barriers of integration that entries are tagged with."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


class Theme(db.Model):
    """A theme such as *information governance*, in a group, with a one-line definition."""

    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    group: Mapped[str] = mapped_column("group_name", String(80))
    definition: Mapped[str] = mapped_column(String(400))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # When someone last checked the name and definition are still right ("Page last reviewed").
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    # SHA-256 of the record this row's content file held when import last applied or matched it;
    # NULL: never imported under the rule (see kb/services/content_io/rule.py).
    imported_digest: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<Theme {self.slug}>"
