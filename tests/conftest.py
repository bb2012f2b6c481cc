"""Fixtures shared by app and browser tests.

Every test that uses ``app``, ``content_app``, ``client``, ``content_client`` (or
``db_templates``) runs twice: on SQLite (test ids ending ``[sqlite]``) and on a real PostgreSQL
server (``[postgresql]``) that this file starts for the session from Debian's ``postgresql``
binaries and stops at the end (see ``tests/postgresql.py``). ``-k sqlite`` or ``-k postgresql``
runs one of them. Browser tests use SQLite only.

Databases are migrated with Alembic (the same ``flask db upgrade`` that ``make run`` uses), with
real Whoosh indexes. Migrating, importing ``content/`` and indexing are done once per test
session and backend into template databases; every test gets its own copy of the database (a
file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL, dropped after the test) and
of the index, so tests never see each other's writes.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

import pytest
from flask import Flask
from flask_login import FlaskLoginClient
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from kb import create_app
from kb.config import PROJECT_ROOT
from kb.extensions import db
from kb.search import backend
from kb.services.content_io import import_content
from tests.postgresql import PostgresServer, find_binaries

CONTENT_DIR = PROJECT_ROOT / "content"
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
BACKENDS = ("sqlite", "postgresql")


class IsolatedClient(FlaskLoginClient):
    """A test client whose every request runs in an application context of its own.

    As on a real server, nothing in ``g`` (such as Flask-Login's cached user) carries over from
    one request to the next, or from the test's own context into a request.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class Store(Protocol):
    """Where one backend keeps databases: creates them (blank or as copies) and drops them."""

    def create(self, folder: Path, template: str | None = None) -> str: ...

    def drop(self, url: str) -> None: ...


class SqliteStore:
    """SQLite databases are files: ``kb.sqlite3`` in the folder given."""

    def create(self, folder: Path, template: str | None = None) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "kb.sqlite3"
        if template:
            shutil.copy(make_url(template).database, database)
        return f"sqlite:///{database}"

    def drop(self, url: str) -> None:
        Path(make_url(url).database).unlink(missing_ok=True)


@dataclass(frozen=True)
class PostgresStore:
    """PostgreSQL databases live on the session's server; copies are ``CREATE DATABASE … TEMPLATE``."""

    server: PostgresServer

    def create(self, folder: Path, template: str | None = None) -> str:
        return self.server.url(self.server.create_database(make_url(template).database if template else None))

    def drop(self, url: str) -> None:
        self.server.drop_database(make_url(url).database)


@dataclass(frozen=True)
class Database:
    """A database (by URL) and an instance folder holding its search index at ``index/``."""

    store: Store
    url: str
    instance: Path

    def copy(self, folder: Path) -> Database:
        """A copy of the database and of its index, with the instance folder in ``folder``.

        The index goes where the app looks by default (``instance/index``), so that a subprocess
        given only ``KB_INSTANCE_PATH`` and ``KB_DATABASE_URL`` sees the same site.
        """
        url = self.store.create(folder, template=self.url)
        shutil.copytree(self.instance / "index", folder / "instance" / "index", symlinks=True)
        return Database(self.store, url, folder / "instance")

    def drop(self) -> None:
        self.store.drop(self.url)


def _make_app(instance: Path, database_url: str, **overrides) -> Flask:
    app = create_app(
        {
            **overrides,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KB_INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "KB_BASE_URL": "http://kb.test",
            "WTF_CSRF_ENABLED": True,
            "KB_MAIL_URL": "memory://",
        }
    )
    app.test_client_class = IsolatedClient
    return app


@contextmanager
def _serve(database: Database) -> Iterator[Flask]:
    """An app over ``database`` itself, with an app context pushed; every connection closed after."""
    app = _make_app(database.instance, database.url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
            backend().close()


def _app_from(template: Database, tmp_path: Path) -> Iterator[Flask]:
    """An app over a copy of ``template`` made in ``tmp_path``; the copy is dropped afterwards."""
    database = template.copy(tmp_path)
    try:
        with _serve(database) as app:
            yield app
    finally:
        database.drop()


def _build_templates(store: Store, folder: Path) -> dict[str, Database]:
    """Migrated databases ``empty`` and ``content`` (content/ imported), with their indexes."""
    empty = Database(store, store.create(folder / "empty"), folder / "empty" / "instance")
    with _serve(empty):
        upgrade(directory=str(PROJECT_ROOT / "migrations"))
        backend().store.create_if_missing()
    content = empty.copy(folder / "content")
    with _serve(content):
        # The session hooks index every entry when the import commits.
        report = import_content(CONTENT_DIR, now=NOW)
        assert report.errors == [], report.errors
    return {"empty": empty, "content": content}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own for the session, stopped and deleted at its end."""
    binaries = find_binaries()
    assert binaries and (binaries / "pg_ctl").exists(), (
        "PostgreSQL is needed for the app tests: install Debian's postgresql (make test does so as root)"
    )
    server = PostgresServer(binaries)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> dict[str, Database]:
    """The SQLite templates (browser tests use these directly)."""
    return _build_templates(SqliteStore(), tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgresql_templates(postgres_server, tmp_path_factory) -> dict[str, Database]:
    """The PostgreSQL templates; they go with the server."""
    return _build_templates(PostgresStore(postgres_server), tmp_path_factory.mktemp("postgresql"))


@pytest.fixture(scope="session", params=BACKENDS)
def db_templates(request) -> dict[str, Database]:
    """Templates ``empty`` and ``content`` on each backend in turn (parametrizes every test using it)."""
    return request.getfixturevalue(f"{request.param}_templates")


@pytest.fixture
def blank_database_url(db_templates, tmp_path) -> Iterator[str]:
    """The URL of a new database with no tables at all, on the test's backend."""
    store = db_templates["empty"].store
    url = store.create(tmp_path / "blank")
    yield url
    store.drop(url)


@pytest.fixture
def app(db_templates, tmp_path):
    """An app on an empty, migrated database, with an app context pushed."""
    yield from _app_from(db_templates["empty"], tmp_path)


@pytest.fixture
def content_app(db_templates, tmp_path):
    """An app whose database holds everything in content/, with an app context pushed."""
    yield from _app_from(db_templates["content"], tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def content_client(content_app):
    return content_app.test_client()
