"""Export the database to the ``content/`` layout.

Output is canonical — fixed key order, one quoting style, sorted files — so exporting the same
database twice, or exporting what was just imported from an export, gives identical bytes.
Files already in the target folder that the database does not know are left alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import Entry, EntryLink, Site, Theme, ThemeTag
from kb.services.content_io.frontmatter import ContentFileError, parse_yaml, read_text
from kb.services.content_io.importer import Progress, no_progress
from kb.services.records import entry_record, site_record, theme_record

_DATE_FIELDS = ("published", "updated", "review_by", "reviewed")


@dataclass(frozen=True)
class ExportReport:
    themes: int
    sites: int
    entries: int


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (``  - item``), as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_yaml(data: Any, *, inline_flat_mappings: bool = True) -> str:
    """YAML as the content files use it: block style, no line wrapping, and (by default) flat
    mappings such as theme tags written inline on one line each."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None if inline_flat_mappings else False,
        width=1_000_000,
    )


def _bare_dates(front: dict[str, Any]) -> dict[str, Any]:
    """``front`` with its dates as YAML dates (written bare, as authors write them), not strings."""
    return {key: dt.date.fromisoformat(value) if key in _DATE_FIELDS and isinstance(value, str) else value
            for key, value in front.items()}


def markdown_file(record: dict[str, Any]) -> str:
    """A content file: the record's fields as front matter, its ``body`` as Markdown."""
    front = _bare_dates({key: value for key, value in record.items() if key != "body"})
    body = record.get("body", "")
    return f"---\n{dump_yaml(front)}---\n{body}\n" if body else f"---\n{dump_yaml(front)}---\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)  # atomic: a reader never sees half a file


def _themes_file_with(path: Path, themes: list[Theme]) -> str:
    """``themes.yml`` as it is, with the items of ``themes`` replaced by (or added as) their records.

    The other items keep the file's words, not the database's: a change to another theme that
    has not been imported yet must not be lost by exporting one theme.
    """
    records = {theme.slug: _bare_dates(theme_record(theme)) for theme in themes}
    items: list[Any] = []
    if path.is_file():
        try:
            items = parse_yaml(read_text(path, path.parent)).data or []
        except ContentFileError as exc:
            raise LookupError(f"{path}:{exc.line}: {exc.message}; fix it before exporting into it") from None
        if not isinstance(items, list):
            raise LookupError(f"{path}:1: is not a list of themes; fix it before exporting into it")
    slugs = [item.get("slug") if isinstance(item, dict) else None for item in items]
    items = [records.pop(slug) if slug in records else item for slug, item in zip(slugs, items)]
    items += list(records.values())
    return dump_yaml(items, inline_flat_mappings=False)


def export_content(dest: Path, *, progress: Progress = no_progress,
                   only: Iterable[tuple[str, str]] | None = None) -> ExportReport:
    """Write every theme, site and entry (whatever its status) under ``dest``.

    ``only`` limits the export to some ``(kind, slug)`` pairs (see
    :func:`kb.services.content_io.report.parse_target`) — how the web version of a row in
    conflict is written into its file. ``themes.yml`` holds every theme, so naming one theme
    rewrites that file whole; files of other sites and entries are left alone.

    :raise LookupError: naming the first of ``only`` that is not in the database.
    """
    dest = Path(dest)
    wanted = None if only is None else set(only)
    themes = list(db.session.scalars(select(Theme).order_by(Theme.position, Theme.slug)))
    sites = list(db.session.scalars(select(Site).order_by(Site.slug)))
    entry_query = select(Entry).order_by(Entry.slug)
    if wanted is not None:
        known = {("themes", t.slug) for t in themes} | {("sites", s.slug) for s in sites}
        known |= {("entries", slug) for slug in db.session.scalars(select(Entry.slug))}
        if missing := sorted(wanted - known):
            raise LookupError(f"{missing[0][0]}/{missing[0][1]}: there is no such {missing[0][0][:-1]} in the database")
        sites = [s for s in sites if ("sites", s.slug) in wanted]
        entry_query = entry_query.where(Entry.slug.in_([slug for kind, slug in wanted if kind == "entries"]))

    if wanted is None:
        _write(dest / "themes.yml", dump_yaml([_bare_dates(theme_record(t)) for t in themes], inline_flat_mappings=False) if themes else "[]\n")
    else:
        themes = [t for t in themes if ("themes", t.slug) in wanted]
        if themes:
            _write(dest / "themes.yml", _themes_file_with(dest / "themes.yml", themes))

    for site in progress(sites, "Exporting sites"):
        _write(dest / "sites" / f"{site.slug}.md", markdown_file(site_record(site)))

    entries = list(
        db.session.scalars(
            entry_query.options(
                selectinload(Entry.site),
                selectinload(Entry.other_sites),
                selectinload(Entry.theme_tags).selectinload(ThemeTag.theme),
                selectinload(Entry.sources),
                selectinload(Entry.outcomes),
                selectinload(Entry.links).selectinload(EntryLink.to_entry),
            )
        )
    )
    for entry in progress(entries, "Exporting entries"):
        _write(dest / "entries" / f"{entry.slug}.md", markdown_file(entry_record(entry)))
    return ExportReport(themes=len(themes), sites=len(sites), entries=len(entries))
