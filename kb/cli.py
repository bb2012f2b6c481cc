"""``flask --app kb kb …`` commands: thin wrappers over services."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup

from kb.services.content_io import export_content, import_content

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


def init_app(app: Flask) -> None:
    """Register the ``kb`` command group."""
    app.cli.add_command(kb_cli)
