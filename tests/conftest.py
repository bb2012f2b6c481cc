"""Fixtures shared by app and browser tests.

Databases are real SQLite files migrated with Alembic (the same ``flask db upgrade`` that
``make run`` uses), with real Whoosh indexes. Migrating, importing ``content/`` and indexing
are done once per test session into template files; every test gets its own copy of the
database and of the index, so tests never see each other's writes.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask_login import FlaskLoginClient
from flask_migrate import upgrade

from kb import create_app
from kb.config import PROJECT_ROOT
from kb.extensions import db
from kb.search import backend
from kb.services.content_io import import_content

CONTENT_DIR = PROJECT_ROOT / "content"
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class IsolatedClient(FlaskLoginClient):
    """A test client whose every request runs in an application context of its own.

    As on a real server, nothing in ``g`` (such as Flask-Login's cached user) carries over from
    one request to the next, or from the test's own context into a request.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _make_app(instance: Path, database: Path, **overrides):
    app = create_app(
        {
            **overrides,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KB_INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "KB_BASE_URL": "http://kb.test",
            "WTF_CSRF_ENABLED": True,
            "KB_MAIL_URL": "memory://",
        }
    )
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory) -> dict[str, Path]:
    """Migrated databases ``empty`` and ``content`` (content/ imported), and their indexes."""
    folder = tmp_path_factory.mktemp("templates")
    empty = folder / "empty.sqlite3"
    app = _make_app(folder, empty, KB_INDEX_DIR=folder / "empty-index")
    with app.app_context():
        upgrade(directory=str(PROJECT_ROOT / "migrations"))
        backend().store.create_if_missing()
        db.engine.dispose()
        backend().close()
    content = folder / "content.sqlite3"
    shutil.copy(empty, content)
    shutil.copytree(folder / "empty-index", folder / "content-index", symlinks=True)
    app = _make_app(folder, content, KB_INDEX_DIR=folder / "content-index")
    with app.app_context():
        # The session hooks index every entry when the import commits.
        report = import_content(CONTENT_DIR, now=NOW)
        assert report.errors == [], report.errors
        db.engine.dispose()
        backend().close()
    return {"empty": empty, "content": content, "empty-index": folder / "empty-index", "content-index": folder / "content-index"}


def _app_from(template: Path, index: Path, tmp_path: Path):
    database = tmp_path / "kb.sqlite3"
    shutil.copy(template, database)
    shutil.copytree(index, tmp_path / "instance" / "index", symlinks=True)
    app = _make_app(tmp_path / "instance", database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
        backend().close()


@pytest.fixture
def app(db_templates, tmp_path):
    """An app on an empty, migrated database, with an app context pushed."""
    yield from _app_from(db_templates["empty"], db_templates["empty-index"], tmp_path)


@pytest.fixture
def content_app(db_templates, tmp_path):
    """An app whose database holds everything in content/, with an app context pushed."""
    yield from _app_from(db_templates["content"], db_templates["content-index"], tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def content_client(content_app):
    return content_app.test_client()
