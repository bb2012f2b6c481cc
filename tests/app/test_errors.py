"""Errors are pages in the site's design with the right status, never tracebacks."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kb.extensions import db


@pytest.fixture
def failing_app(app):
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    return app


def test_an_unexpected_error_is_a_friendly_500_without_details(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in html
    assert "secret internal detail" not in html and "Traceback" not in html


def test_wrong_method_is_a_405_page(client):
    response = client.post("/search")
    assert response.status_code == 405
    assert "This address does not accept that kind of request" in response.get_data(as_text=True)


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
    assert "alembic_version" in inspect(db.engine).get_table_names()
