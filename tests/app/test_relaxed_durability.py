"""relaxed_durability: SQLite commits that wait for the disk only at checkpoints, for the time of
a digest run, on every connection it checks out, and put back as they were afterwards."""

from __future__ import annotations

from sqlalchemy import text

from kb.database import relaxed_durability
from kb.extensions import db


def _synchronous() -> int | None:
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            return None
        return connection.execute(text("PRAGMA synchronous")).scalar()


def test_commits_wait_for_the_disk_again_once_the_relaxed_time_is_over(app):
    before = _synchronous()
    with relaxed_durability(db.engine):
        during = _synchronous()
        with db.engine.begin() as connection:  # writing works as ever meanwhile
            connection.execute(text("UPDATE entry SET version = version WHERE 1 = 0"))
    after = _synchronous()
    if db.engine.dialect.name == "sqlite":
        assert (before, during, after) == (2, 1, 2)  # FULL, NORMAL, FULL
    else:
        assert (before, during, after) == (None, None, None)  # nothing to relax elsewhere
