"""``flask --app kb kb …`` commands: thin wrappers over services."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from kb.search import backend, consistency
from kb.search.backend import IndexUnavailable
from kb.mail import current_sender
from kb.services import accounts
from kb.services.content_io import export_content, import_content
from kb.services.content_io.report import parse_target
from kb.services import digests  # after content_io: digests → feeds → search → content_io
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


def _targets(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    try:
        return [parse_target(value) for value in values]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _content_dir(path: Path | None) -> Path:
    return path if path is not None else Path(current_app.config["KB_CONTENT_DIR"])


@kb_cli.command("import")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--take-file", "take_file", multiple=True, metavar="KIND/SLUG", callback=_targets,
              help="Apply this file even over changes made on the web (e.g. entries/leeds-frailty-unit). Repeatable.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when files had errors or conflicts (they are still listed); make run uses it.")
def import_command(path: Path | None, take_file: list[tuple[str, str]], exit_zero: bool) -> None:
    """Import themes, sites and entries from PATH (default: KB_CONTENT_DIR, i.e. content/).

    The database is the record: a file is applied only if its entry, site or theme has not been
    changed on the web since the file was last imported (docs/content-format.md). Files with
    errors are listed as path:line: message and skipped; files in conflict with web changes are
    listed with the commands that resolve them. The exit status is 1 if there were any of either
    (unless --exit-zero). Running it twice changes nothing the second time.
    """
    path = _content_dir(path)
    if not path.is_dir():
        click.echo(f"{path}: there is no such folder to import", err=True)
        sys.exit(2)
    report = import_content(path, now=datetime.now(timezone.utc), progress=_progress, take_file=take_file)
    for error in report.errors:
        click.echo(error, err=True)
    for conflict in report.conflicts:
        click.echo(conflict, err=True)
    missing = [f"{kind}/{slug}" for kind, slug in take_file if (kind, slug) not in report.taken]
    for target in missing:
        click.echo(f"--take-file {target}: there is no valid file for it under {path}", err=True)
    click.echo(report.summary())
    if (report.errors or report.conflicts or missing) and not exit_zero:
        sys.exit(1)


@kb_cli.command("export")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--only", multiple=True, metavar="KIND/SLUG", callback=_targets,
              help="Write only this entry, site or theme (e.g. entries/leeds-frailty-unit). Repeatable.")
def export_command(path: Path | None, only: list[tuple[str, str]]) -> None:
    """Write every theme, site and entry to PATH (default: KB_CONTENT_DIR) in the content/ format.

    With --only, write just those: how the web version of a conflicting row is kept.
    """
    path = _content_dir(path)
    try:
        report = export_content(path, progress=_progress, only=only or None)
    except LookupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"Exported {report.themes} themes, {report.sites} sites and {report.entries} entries to {path}")


index_cli = AppGroup("index", help="Check the search index against the database.")
kb_cli.add_command(index_cli)


@index_cli.command("check")
@click.option("--repair", is_flag=True, help="Re-index every entry that disagrees (rebuilds a missing index).")
def index_check_command(repair: bool) -> None:
    """Report every entry on which the search index and the database disagree.

    Index updates still queued by saves (see kb.search.indexing) are written first: they are
    committed changes waiting their turn, not disagreements. The exit status is 1 if there were
    disagreements left unrepaired, 0 otherwise.
    """
    search = backend()
    if written := consistency.write_queued(search):
        click.echo(f"Wrote {written} queued index update(s).")
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
    if repair and (completed := search.complete()):
        click.echo(f"Wrote the search arrays of {completed} index segment(s) that had none.")
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


@kb_cli.command("send-digests")
@click.option("--dry-run", is_flag=True, help="List who would get what, without sending or recording anything.")
@click.option("--now", "now_text", metavar="ISO", default=None,
              help="Send as of this time (ISO 8601, UTC if no offset); default: the current time.")
def send_digests_command(dry_run: bool, now_text: str | None) -> None:
    """Send every due email digest (one per member), through KB_MAIL_URL.

    Safe to run twice and from two hosts at once: the delivery log makes sure no digest is sent
    twice. Members whose email failed are retried by the next run. Prints a summary line; the
    exit status is 1 if any digest failed.
    """
    try:
        now = datetime.fromisoformat(now_text) if now_text else datetime.now(timezone.utc)
    except ValueError:
        raise click.BadParameter(f"{now_text!r} is not an ISO 8601 time, e.g. 2026-12-07T07:00:00Z",
                                 param_hint="--now") from None
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    progress = (lambda members: _bar(members, "Sending digests")) if sys.stderr.isatty() and not dry_run else None
    report = digests.send_digests(now, current_sender(), dry_run=dry_run, progress=progress)
    for line in report.lines:
        click.echo(line)
    if dry_run:
        click.echo(f"Dry run: would send {report.sent}, skip {report.skipped}; nothing was sent or recorded.")
    else:
        click.echo(report.summary())
    if report.failed:
        sys.exit(1)


def _progress_of_length(label: str):
    def wrap(items: Iterable[T], length: int) -> Iterable[T]:
        with click.progressbar(items, length=length, label=label, file=sys.stderr, show_pos=True) as bar:
            yield from bar

    return wrap


def init_app(app: Flask) -> None:
    """Register the ``kb`` command group."""
    app.cli.add_command(kb_cli)
