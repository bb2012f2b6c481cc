"""A forked process (the index's writing processes load documents this way) never uses the
connections it inherits from its parent's pool, and never closes them under the parent."""

from __future__ import annotations

import gc
import multiprocessing

from sqlalchemy import text

from kb.extensions import db


def _backend_of(connection) -> object:
    """Which server session (PostgreSQL) or which connection object (SQLite) this is."""
    if connection.dialect.name == "postgresql":
        return connection.execute(text("select pg_backend_pid()")).scalar()
    return id(connection.connection.dbapi_connection)


def _in_child() -> tuple[int, int, object]:
    from kb import database

    with db.engine.connect() as connection:
        value = connection.execute(text("select count(*) from entry")).scalar()
        session = _backend_of(connection)
    gc.collect()  # a dropped inherited connection would be finalised (closed) here
    return value, len(database._inherited_connections), session


def test_a_forked_process_opens_its_own_connection_and_the_parents_keeps_working(app):
    db.engine.dispose()
    with db.engine.connect() as connection:  # the pool now holds exactly this one, idle
        parent_session = _backend_of(connection)

    with multiprocessing.get_context("fork").Pool(1) as pool:
        count, inherited, child_session = pool.apply(_in_child)

    assert count == 0
    assert inherited == 1, "the child should have set the inherited connection aside"
    if db.engine.dialect.name == "postgresql":
        assert child_session != parent_session
    with db.engine.connect() as connection:
        # The parent's own connection, still open and still its own server session.
        assert _backend_of(connection) == parent_session
        assert connection.execute(text("select count(*) from entry")).scalar() == 0
