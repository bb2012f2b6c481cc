"""Database engine settings: a connection pool sized for the server, SQLite set up for writers,
PostgreSQL sessions in UTC.

Two facts drive these settings. A web server runs requests concurrently, and a request that
saves holds two connections at its busiest (its own, plus the index queue's after commit), so
the pool must hold about twice as many connections as the server has threads, or bursts of
saves wait on the pool and fail. And SQLite allows one writer at a time: in WAL mode readers
never wait for it, and a busy timeout lets writers queue for the lock instead of failing.
PostgreSQL connections read times in UTC, as SQLite does, whatever the server's time zone.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import psycopg
from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for ``config``'s database URL and pool settings."""
    url = str(config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("sqlite"):
        options: dict[str, Any] = {
            # sqlite3's timeout is SQLite's busy timeout: writers wait their turn for the lock
            # rather than failing with "database is locked".
            "connect_args": {"timeout": config["KB_DB_BUSY_SECONDS"]},
        }
        if ":memory:" not in url and url.rstrip("/") != "sqlite:":
            # A SQLite connection is a file handle: no server to protect, so the pool may grow
            # with the server's threads instead of making a burst of requests wait for it.
            options.update(pool_size=config["KB_DB_POOL_SIZE"], max_overflow=-1)
        return options
    return {"pool_pre_ping": True, "pool_size": config["KB_DB_POOL_SIZE"],
            "max_overflow": config["KB_DB_MAX_OVERFLOW"], "pool_timeout": config["KB_DB_POOL_TIMEOUT"]}


def init_app(app: Flask) -> None:
    """Put the engine options in ``app.config`` (call before ``db.init_app``)."""
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config))


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block on a writer, and a commit is one append (it stays set in the file).
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


@event.listens_for(Engine, "connect")
def _configure_postgresql(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    # Times come back in UTC whatever the server's TimeZone setting, as they do from SQLite, so
    # that the times pages show and the services compare never depend on how the server is set up.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
    finally:
        dbapi_connection.autocommit = autocommit


# A forked process (the index's writers) inherits the pool's connections, which belong to its
# parent: using one would interleave two processes' traffic on one socket or file. As SQLAlchemy's
# pooling guide says, a connection is marked with the process that opened it, and one checked out
# in another process is swapped for a new one. The inherited one is kept, never used and never
# closed: closing a copy would end the parent's PostgreSQL session (psycopg says goodbye on the
# shared socket), and SQLite must not have a connection closed across a fork either.
_inherited_connections: list = []


@event.listens_for(Engine, "connect")
def _remember_process(_dbapi_connection, record) -> None:  # noqa: ANN001 - DBAPI objects
    record.info["pid"] = os.getpid()


@event.listens_for(Engine, "checkout")
def _refuse_inherited(dbapi_connection, record, proxy) -> None:  # noqa: ANN001 - DBAPI objects
    pid = os.getpid()
    if record.info.get("pid", pid) != pid:
        _inherited_connections.append(dbapi_connection)
        record.dbapi_connection = proxy.dbapi_connection = None
        raise exc.DisconnectionError(f"connection opened by process {record.info['pid']}, not this one ({pid})")


@contextmanager
def relaxed_durability(engine: Engine) -> Iterator[None]:
    """Meanwhile, commits on SQLite wait for the disk only at WAL checkpoints, not each time.

    ``PRAGMA synchronous=NORMAL`` on every connection checked out meanwhile, put back as it was
    when the connection is checked in. In WAL mode this survives any crash of the process; only a
    power cut or a crash of the machine may undo the last commits. For work whose guarantee is
    "at least once" anyway (a digest run's delivery log), where waiting for the disk twice per
    member was most of the run. Nothing changes on other databases.
    """
    if engine.dialect.name != "sqlite":
        yield
        return

    def relax(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001 - DBAPI objects
        record.info["synchronous"] = dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    def restore(dbapi_connection, record) -> None:  # noqa: ANN001 - DBAPI objects
        level = record.info.pop("synchronous", None)
        if dbapi_connection is not None and level is not None:
            dbapi_connection.execute(f"PRAGMA synchronous={int(level)}")

    event.listen(engine, "checkout", relax)
    event.listen(engine, "checkin", restore)
    try:
        yield
    finally:
        event.remove(engine, "checkout", relax)
        event.remove(engine, "checkin", restore)
