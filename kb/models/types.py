"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import Enum


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry a human label: ``Member("value", "Label")``."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:  # so templates and f-strings show the stored value
        return self.value


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing the values.

    ``native_enum=False`` avoids PostgreSQL ``CREATE TYPE`` churn in migrations while
    still refusing values outside the enum on both SQLite and PostgreSQL.
    """
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def utcnow() -> datetime:
    """Current time, timezone-aware UTC; evaluated per row, never at import."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """``moment`` made timezone-aware: SQLite gives back naive datetimes, which here are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
