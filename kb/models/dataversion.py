"""The data version: one row holding a number that every change of readable data moves.

Kept in step by the session hooks in :mod:`kb.services.dataversion`, which explains its use.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


class DataVersion(db.Model):
    """The single row (``id`` 1) whose ``version`` goes up by one with every commit that changes
    entries, their parts, sites, themes, users or memberships."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
