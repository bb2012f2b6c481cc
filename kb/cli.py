"""``flask --app kb kb …`` commands: thin wrappers over services."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup

from kb.search import backend, consistency
from kb.search.backend import IndexUnavailable
from kb.services import accounts
from kb.services.content_io import export_content, import_content
from kb.services.errors import BadRequest

T = TypeVar("T")
kb_cli = AppGroup("kb", help="Pioneer Knowledge Base commands.")


def _progress(items: list[T], label: str) -> Iterable[T]:
    # Long runs show a bar; a handful of files, or output to a file, just show the label.
    if len(items) < 2:
        return items
    return _bar(items, label)


def _bar(items: list[T], label: str) -> Iterable[T]:
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


@kb_cli.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Import themes, sites and entries from PATH (e.g. content/).

    Files with errors are listed as path:line: message and skipped; the exit status is 1 if
    there were any. Running it twice changes nothing the second time.
    """
    report = import_content(path, now=datetime.now(timezone.utc), progress=_progress)
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


@kb_cli.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def export_command(path: Path) -> None:
    """Write every theme, site and entry to PATH in the content/ format."""
    report = export_content(path, progress=_progress)
    click.echo(f"Exported {report.themes} themes, {report.sites} sites and {report.entries} entries to {path}")


index_cli = AppGroup("index", help="Check the search index against the database.")
kb_cli.add_command(index_cli)


@index_cli.command("check")
@click.option("--repair", is_flag=True, help="Re-index every entry that disagrees (rebuilds a missing index).")
def index_check_command(repair: bool) -> None:
    """Report every entry on which the search index and the database disagree.

    The exit status is 1 if there were disagreements left unrepaired, 0 otherwise.
    """
    search = backend()
    try:
        problems = consistency.check(search)
    except IndexUnavailable as error:
        if not repair:
            click.echo(f"{error.message}", err=True)
            sys.exit(1)
        click.echo("The search index is missing or unreadable; rebuilding it.", err=True)
        indexed, caught_up = consistency.rebuild(search, progress=_progress_of_length("Indexing entries"))
        click.echo(f"Rebuilt the search index with {indexed} entries ({caught_up} re-indexed after changes made meanwhile).")
        return
    for problem in problems:
        click.echo(str(problem))
    if not problems:
        click.echo("The search index agrees with the database.")
        return
    if not repair:
        click.echo(f"{len(problems)} disagreement(s). Run with --repair to fix them.", err=True)
        sys.exit(1)
    fixed = consistency.repair(search, problems)
    left = consistency.check(search)
    click.echo(f"Repaired {fixed} entries; {len(left)} disagreement(s) left.")
    if left:
        sys.exit(1)


@kb_cli.command("reindex")
def reindex_command() -> None:
    """Build a fresh search index from the database and swap it in; searches keep working meanwhile."""
    indexed, caught_up = consistency.rebuild(backend(), progress=_progress_of_length("Indexing entries"))
    click.echo(f"Indexed {indexed} entries ({caught_up} re-indexed after changes made meanwhile).")


@kb_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="The person's name (defaults to the address).")
@click.password_option(help="Prompted for (twice) if not given; at least 12 characters.")
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an administrator account with EMAIL (how the first admin is made)."""
    try:
        user = accounts.create_admin(email, name, password)
    except BadRequest as error:
        click.echo(error.message, err=True)
        sys.exit(2)
    click.echo(f"Created administrator {user.email}. They can sign in at /sign-in.")


def _progress_of_length(label: str):
    def wrap(items: Iterable[T], length: int) -> Iterable[T]:
        with click.progressbar(items, length=length, label=label, file=sys.stderr, show_pos=True) as bar:
            yield from bar

    return wrap


def init_app(app: Flask) -> None:
    """Register the ``kb`` command group."""
    app.cli.add_command(kb_cli)
