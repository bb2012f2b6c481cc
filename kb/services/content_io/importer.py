"""Import ``content/`` into the database.

Contract:

* every file is checked completely before anything is written; a file with any problem is
  reported as ``path:line: what is wrong`` and **nothing of it** is written, while every valid
  file is imported;
* references (an entry's site, themes and linked entries) must exist in the database or in a
  valid file of the same import;
* import is idempotent: a file whose record equals what the database holds changes nothing —
  no update, no new revision, no new version;
* all writes happen in one transaction, committed at the end, so an unexpected failure leaves
  the database as it was.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from sqlalchemy import select

from kb.extensions import db
from kb.models import Entry, Site, Theme
from kb.services import entries as entry_service
from kb.services import sites as site_service
from kb.services import themes as theme_service
from kb.services.content_io import frontmatter
from kb.services.records import (
    entry_from_validated,
    entry_record,
    site_from_validated,
    site_record,
    theme_record,
)
from kb.services.content_io.schema import (
    RESERVED_ENTRY_SLUGS,
    SLUG_PATTERN,
    EntryRecord,
    Problem,
    SiteRecord,
    ThemeRecord,
    validate,
)

T = TypeVar("T")
Progress = Callable[[list[T], str], Iterable[T]]
_SLUG = re.compile(SLUG_PATTERN)


def no_progress(items: list[T], label: str) -> Iterable[T]:
    """The default progress reporter: none."""
    return items


@dataclass
class ImportReport:
    """What an import did. ``errors`` are ``path:line: message`` strings, in file order."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def summary(self) -> str:
        parts = []
        for kind in ("themes", "sites", "entries"):
            parts.append(
                f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
                f"{self.unchanged[kind]} unchanged"
            )
        parts.append(f"{len(self.errors)} file(s) with errors" if self.errors else "no errors")
        return "; ".join(parts)


@dataclass
class _Candidate:
    """A file that passed the schema, waiting for its references to be checked."""

    path: Path
    slug: str
    record: dict[str, Any]
    parsed: frontmatter.ParsedYaml


class _Run:
    def __init__(self, root: Path, now: datetime, progress: Progress):
        self.root = root
        self.now = now
        self.progress = progress
        self.report = ImportReport()

    # -- reading ---------------------------------------------------------------------------

    def fail(self, path: Path, line: int, message: str) -> None:
        self.report.errors.append(f"{path}:{line}: {message}")

    def fail_all(self, path: Path, parsed: frontmatter.ParsedYaml, problems: list[Problem]) -> None:
        for problem in problems:
            self.fail(path, parsed.line_for(problem.loc), problem.message)

    def read_markdown(self, path: Path, model: type, to_record) -> _Candidate | None:  # noqa: ANN001
        slug = path.stem
        if not _SLUG.match(slug) or len(slug) > 80:
            self.fail(path, 1, "file name must be a slug (lowercase letters, digits and single hyphens) ending in .md")
            return None
        if model is EntryRecord and slug in RESERVED_ENTRY_SLUGS:
            self.fail(path, 1, f"file name {slug!r} is reserved for the site's own pages: choose another")
            return None
        try:
            content = frontmatter.split(frontmatter.read_text(path))
        except frontmatter.ContentFileError as exc:
            self.fail(path, exc.line, exc.message)
            return None
        validated, problems = validate(model, content.front.data)
        if problems:
            self.fail_all(path, content.front, problems)
            return None
        return _Candidate(path, slug, to_record(validated, content.body), content.front)

    def read_themes(self) -> list[tuple[dict[str, Any], int]]:
        path = self.root / "themes.yml"
        if not path.is_file():
            return []
        try:
            parsed = frontmatter.parse_yaml(frontmatter.read_text(path))
        except frontmatter.ContentFileError as exc:
            self.fail(path, exc.line, exc.message)
            return []
        if not isinstance(parsed.data, list):
            self.fail(path, 1, "themes.yml must be a list of themes ('- slug: …')")
            return []
        records, problems, seen = [], [], set()
        for index, item in enumerate(parsed.data):
            validated, item_problems = validate(ThemeRecord, item)
            problems += [Problem((index, *p.loc), f"theme {index + 1}: {p.message}") for p in item_problems]
            if validated is not None:
                if validated.slug in seen:
                    problems.append(Problem((index, "slug"), f"theme {index + 1}: slug {validated.slug!r} is used twice"))
                seen.add(validated.slug)
                records.append((validated.model_dump(), index))
        if problems:
            self.fail_all(path, parsed, problems)
            return []
        return records

    def markdown_files(self, folder: str) -> list[Path]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        return sorted(p for p in directory.iterdir() if p.suffix == ".md" and p.is_file())

    # -- checking references ---------------------------------------------------------------

    def entry_reference_problems(
        self, candidate: _Candidate, sites: set[str], themes: set[str], entries: set[str]
    ) -> list[Problem]:
        record, problems = candidate.record, []
        if record.get("site") and record["site"] not in sites:
            problems.append(Problem(("site",), f"site: there is no site {record['site']!r}"))
        for i, slug in enumerate(record.get("other_sites", [])):
            if slug not in sites:
                problems.append(Problem(("other_sites", i), f"other_sites.{i}: there is no site {slug!r}"))
        for i, tag in enumerate(record["themes"]):
            if tag["theme"] not in themes:
                problems.append(Problem(("themes", i, "theme"), f"themes.{i}.theme: there is no theme {tag['theme']!r}"))
        for i, link in enumerate(record.get("links", [])):
            if link["entry"] == candidate.slug:
                problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: an entry cannot link to itself"))
            elif link["entry"] not in entries:
                problems.append(Problem(("links", i, "entry"), f"links.{i}.entry: there is no entry {link['entry']!r}"))
        return problems

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> ImportReport:
        themes = self.read_themes()
        site_candidates = [
            c for path in self.progress(self.markdown_files("sites"), "Reading sites")
            if (c := self.read_markdown(path, SiteRecord, site_from_validated))
        ]
        entry_candidates = [
            c for path in self.progress(self.markdown_files("entries"), "Reading entries")
            if (c := self.read_markdown(path, EntryRecord, entry_from_validated))
        ]

        site_slugs = set(db.session.scalars(select(Site.slug))) | {c.slug for c in site_candidates}
        theme_slugs = set(db.session.scalars(select(Theme.slug))) | {r["slug"] for r, _ in themes}
        db_entry_slugs = set(db.session.scalars(select(Entry.slug)))
        # Dropping a file can break links to it from other files, so repeat until nothing changes.
        failed: dict[str, list[Problem]] = {}
        while True:
            valid = {c.slug for c in entry_candidates if c.slug not in failed}
            newly_failed = {
                c.slug: problems
                for c in entry_candidates
                if c.slug not in failed
                and (problems := self.entry_reference_problems(c, site_slugs, theme_slugs, db_entry_slugs | valid))
            }
            if not newly_failed:
                break
            failed.update(newly_failed)
        for candidate in entry_candidates:
            if candidate.slug in failed:
                self.fail_all(candidate.path, candidate.parsed, failed[candidate.slug])
        entry_candidates = [c for c in entry_candidates if c.slug not in failed]
        self.report.errors.sort(key=_error_sort_key)

        try:
            self.write_themes(themes)
            self.write_sites(site_candidates)
            self.write_entries(entry_candidates)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return self.report

    # -- writing ---------------------------------------------------------------------------

    def write_themes(self, records: list[tuple[dict[str, Any], int]]) -> None:
        existing = {t.slug: t for t in db.session.scalars(select(Theme))}
        for record, position in records:
            theme = existing.get(record["slug"])
            if theme is not None and theme_record(theme) == record and theme.position == position:
                self.report.unchanged["themes"] += 1
                continue
            if theme is None:
                theme = Theme()
                db.session.add(theme)
                self.report.created["themes"] += 1
            else:
                self.report.updated["themes"] += 1
            theme_service.apply_record(theme, record, position)
        db.session.flush()

    def write_sites(self, candidates: list[_Candidate]) -> None:
        existing = {s.slug: s for s in db.session.scalars(select(Site))}
        for candidate in self.progress(candidates, "Importing sites"):
            site = existing.get(candidate.slug)
            if site is not None and site_record(site) == candidate.record:
                self.report.unchanged["sites"] += 1
                continue
            if site is None:
                site = Site()
                db.session.add(site)
                self.report.created["sites"] += 1
            else:
                self.report.updated["sites"] += 1
            site_service.apply_record(site, candidate.slug, candidate.record)
        db.session.flush()

    def write_entries(self, candidates: list[_Candidate]) -> None:
        lookups = entry_service.Lookups(
            sites={s.slug: s for s in db.session.scalars(select(Site))},
            themes={t.slug: t for t in db.session.scalars(select(Theme))},
            entries={e.slug: e for e in db.session.scalars(select(Entry))},
        )
        changed: list[tuple[Entry, _Candidate, bool]] = []
        # First every changed entry's own fields (creating new ones), so that links written in
        # the second pass can point at entries created by this same import.
        for candidate in self.progress(candidates, "Importing entries"):
            entry = lookups.entries.get(candidate.slug)
            if entry is not None and entry_record(entry) == candidate.record:
                self.report.unchanged["entries"] += 1
                continue
            created = entry is None
            if created:
                entry = Entry(slug=candidate.slug, version=0)
                db.session.add(entry)
                lookups.entries[candidate.slug] = entry
            entry_service.apply_fields(entry, candidate.record, lookups)
            changed.append((entry, candidate, created))
        for entry, candidate, created in changed:
            entry_service.apply_links(entry, candidate.record, lookups)
            entry_service.record_revision(
                entry,
                author=None,
                now=self.now,
                summary=f"Imported from {candidate.path.name}",
            )
            (self.report.created if created else self.report.updated)["entries"] += 1


def _error_sort_key(error: str) -> tuple[str, int]:
    path, line, _ = error.split(":", 2) if error.count(":") >= 2 else (error, "0", "")
    return (path, int(line) if line.isdigit() else 0)


def import_content(root: Path, *, now: datetime, progress: Progress = no_progress) -> ImportReport:
    """Import every valid file under ``root`` (see the module docstring for the contract)."""
    return _Run(Path(root), now, progress).run()
