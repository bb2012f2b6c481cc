"""`flask kb reindex` and `flask kb index check` on a database with no entries yet."""

from __future__ import annotations

from kb.search import backend


def test_reindex_of_an_empty_database_builds_an_empty_index_that_checks_clean(app):
    runner = app.test_cli_runner()

    result = runner.invoke(args=["kb", "reindex"])

    assert result.exit_code == 0, result.output
    assert "Indexed 0 entries (0 re-indexed" in result.output
    assert backend().stamps() == {}
    check = runner.invoke(args=["kb", "index", "check"])
    assert check.exit_code == 0, check.output
