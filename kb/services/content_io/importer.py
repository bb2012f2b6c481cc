"""Import ``content/`` into the database, under the rule that the database is the record.

Contract:

* every file is checked completely before anything is written; a file with any problem is
  reported as ``path:line: what is wrong`` and **nothing of it** is written, while every valid
  file is imported — one bad file never stops the others, and no input makes import crash;
* only files inside the folder being imported are read (a symlink leading out is refused);
* references (an entry's site, themes and linked entries) must exist in the database or in a
  valid file of the same import;
* a file is applied to an existing row only as :mod:`.rule` decides: never over a change made
  on the web since the file was last imported — such files are reported as conflicts, with
  the commands that resolve them, unless the person asked for the file (``take_file``);
* import is idempotent: a file whose record equals what the database holds changes nothing —
  no update, no new revision, no new version;
* every entry import creates, or whose status or visibility it changes, is audited
  (``entry_imported``), as are changes to existing sites and themes (``site_saved`` /
  ``theme_saved`` with no actor);
* all writes happen in one transaction, committed at the end, so an unexpected failure leaves
  the database as it was; a web save racing the import makes it decide and write again;
* the search index is written once, after that commit (:func:`kb.search.indexing.drain`, waiting
  for the index lock): the transaction queues every entry's update in ``index_queue`` as any save
  does, so an import that stops before the index is written leaves them queued, never lost.

For speed (docs/benchmarks.md, ``bench/import.py``): a large import reads and checks its files,
and turns entry bodies into plain text for search, in worker processes (:mod:`.reading`); new
entries' own rows are inserted together in one flush, and their child rows, links, first revisions
and audit events with one INSERT per table for every :data:`FLUSH_BATCH` entries, without ORM
objects (:meth:`_Run.write_new_entries`); front matter is parsed by libyaml where it is safe to
(:func:`.frontmatter.parse_yaml`).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import insert, select
from sqlalchemy.orm import load_only, selectinload

from kb.extensions import db
from kb.markdown import to_plain_text
from kb.models import AuditEvent, Entry, EntryLink, LinkRel, Outcome, Revision, Site, Source, Theme, ThemeTag
from kb.models.entries import entry_other_site, offer_body_text
from kb.search import indexing
from kb.services import audit
from kb.services import entries as entry_service
from kb.services import sites as site_service
from kb.services import themes as theme_service
from kb.services.content_io import frontmatter, reading
from kb.services.content_io.report import ImportReport
from kb.services.content_io.rule import IMPORT_REVISION_PREFIX, Decision, decide, digest, legacy_baselines
from kb.services.versions import retrying
from kb.services.records import entry_record, site_record, theme_record
from kb.services.content_io.schema import Problem, ThemeRecord, validate

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[list[T], str], Iterable[T]]
# New entries whose child rows, links, revisions and audit events are inserted together.
FLUSH_BATCH = 500
# What write_new_entries inserts for a new entry, in an order its foreign keys allow.
_NEW_ENTRY_TABLES = (entry_other_site, ThemeTag, Source, Outcome, EntryLink, Revision, AuditEvent)
# What the import reads of an entry it has just inserted (its other columns load if asked for).
_NEW_ENTRY_COLUMNS = (Entry.id, Entry.slug, Entry.status, Entry.visibility, Entry.version)
# An entry's collections: an existing entry's are loaded in batches before it is compared with its
# file (_load_collections).
_ENTRY_COLLECTIONS = ("other_sites", "theme_tags", "sources", "outcomes", "links")


def no_progress(items: list[T], label: str) -> Iterable[T]:
    """The default progress reporter: none."""
    return items


@dataclass
class _Candidate:
    """A file (or a theme in ``themes.yml``) that passed the schema, waiting to be written."""

    path: Path
    slug: str
    record: dict[str, Any]
    parsed: frontmatter.ParsedYaml | frontmatter.LineMap  # anything with line_for(loc)
    line: int = 1
    position: int = 0
    body_text: str | None = None  # an entry's to_plain_text(body), derived when its file was read


class _Run:
    def __init__(self, root: Path, now: datetime, progress: Progress, take_file: set[tuple[str, str]],
                 write_index: bool = True, workers: int | None = None):
        self.root = root
        self.workers = workers  # asked for; self.pool holds the processes during run()
        self.pool = reading.Workers(0)
        self.paths: dict[str, list[Path]] = {}
        self.write_index = write_index
        self.now = now
        self.progress = progress
        self.take_file = take_file
        self.report = ImportReport()

    # -- reading ---------------------------------------------------------------------------

    def fail(self, path: Path, line: int, message: str) -> None:
        self.report.errors.append(f"{path}:{line}: {message}")

    def fail_all(self, path: Path, parsed: frontmatter.ParsedYaml | frontmatter.LineMap,
                 problems: list[Problem]) -> None:
        for problem in problems:
            self.fail(path, parsed.line_for(problem.loc), problem.message)

    def read_markdown(self, folder: str, label: str) -> list[_Candidate]:
        """The valid files of ``folder`` (``sites`` or ``entries``), read by :mod:`.reading`; the
        others are reported."""
        paths = self.paths[folder]
        candidates = []
        # The progress bar moves as each file's result arrives (in order) from the readers.
        results = self.pool.read(paths, self.root, folder)
        try:
            for _ in self.progress(paths, label):
                read = next(results)
                for line, message in read.errors:
                    self.fail(read.path, line, message)
                if read.record is not None:
                    candidates.append(_Candidate(read.path, read.slug, read.record, read.lines,
                                                 body_text=read.body_text))
        finally:
            results.close()
        return candidates

    def read_themes(self) -> list[_Candidate]:
        path = self.root / "themes.yml"
        if not (path.exists() or path.is_symlink()):
            return []
        try:
            parsed = frontmatter.parse_yaml(frontmatter.read_text(path, self.root))
        except frontmatter.ContentFileError as exc:
            self.fail(path, exc.line, exc.message)
            return []
        if not isinstance(parsed.data, list):
            self.fail(path, 1, "themes.yml must be a list of themes ('- slug: …')")
            return []
        candidates, problems, seen = [], [], set()
        for index, item in enumerate(parsed.data):
            validated, item_problems = validate(ThemeRecord, item)
            problems += [Problem((index, *p.loc), f"theme {index + 1}: {p.message}") for p in item_problems]
            if validated is not None:
                if validated.slug in seen:
                    problems.append(Problem((index, "slug"), f"theme {index + 1}: slug {validated.slug!r} is used twice"))
                seen.add(validated.slug)
                candidates.append(_Candidate(path, validated.slug, validated.model_dump(), parsed,
                                             line=parsed.line_for((index,)), position=index))
        if problems:
            self.fail_all(path, parsed, problems)
            return []
        return candidates

    def markdown_files(self, folder: str) -> list[Path]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        if not directory.resolve().is_relative_to(self.root.resolve()):
            self.fail(directory, 1, f"resolves to {directory.resolve()}, outside {self.root}: refused")
            return []
        # Links and other non-regular files are kept here, to be refused with a message when read.
        try:
            return sorted(p for p in directory.iterdir() if p.suffix == ".md" and not p.is_dir())
        except OSError as exc:
            self.fail(directory, 1, f"cannot be read: {exc.strerror}")
            return []

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
        self.paths = {folder: self.markdown_files(folder) for folder in ("sites", "entries")}
        files = sum(len(paths) for paths in self.paths.values())
        with reading.Workers(reading.worker_count(files, self.workers)) as self.pool:
            report = self.import_files()
        if self.write_index and has_app_context() and "kb.search" in current_app.extensions:
            try:
                indexing.drain(current_app.extensions["kb.search"], wait=True, batch=indexing.BULK_DRAIN_BATCH)
            except Exception:
                # The import has committed and stands; its updates stay queued for
                # `flask kb index check`, the next save or the next start.
                log.exception("search index update after import failed; the updates stay queued")
        return report

    def import_files(self) -> ImportReport:
        themes = self.read_themes()
        site_candidates = self.read_markdown("sites", "Reading sites")
        entry_candidates = self.read_markdown("entries", "Reading entries")

        site_slugs = set(db.session.scalars(select(Site.slug))) | {c.slug for c in site_candidates}
        theme_slugs = set(db.session.scalars(select(Theme.slug))) | {c.slug for c in themes}
        db_entry_slugs = set(db.session.scalars(select(Entry.slug)))
        # Dropping a file can break links to it from other files, so repeat until nothing changes.
        failed: dict[str, list[Problem]] = {}
        while True:
            known = db_entry_slugs | {c.slug for c in entry_candidates if c.slug not in failed}
            newly_failed = {
                c.slug: problems
                for c in entry_candidates
                if c.slug not in failed
                and (problems := self.entry_reference_problems(c, site_slugs, theme_slugs, known))
            }
            if not newly_failed:
                break
            failed.update(newly_failed)
        for candidate in entry_candidates:
            if candidate.slug in failed:
                self.fail_all(candidate.path, candidate.parsed, failed[candidate.slug])
        entry_candidates = [c for c in entry_candidates if c.slug not in failed]
        self.report.errors.sort(key=_error_sort_key)

        checked = copy.deepcopy(self.report)

        def write() -> ImportReport:
            # A web save of an entry this import is about to write makes the import lose the
            # race for its version (kb.services.versions): start the writing again from the
            # checked files, deciding afresh against what the web save committed.
            self.report = copy.deepcopy(checked)
            try:
                self.write_themes(themes)
                self.write_sites(site_candidates)
                self.write_entries(entry_candidates)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            self.report.conflicts.sort(key=_error_sort_key)
            return self.report

        # The commit queues the index updates of everything written (kb.search.indexing) but
        # does not write them: they are written below, after the transaction, in one go.
        db.session.info[indexing.DEFER_DRAIN] = True
        try:
            return retrying(write, what="import")
        finally:
            db.session.info.pop(indexing.DEFER_DRAIN, None)

    # -- deciding --------------------------------------------------------------------------

    def decisions(self, kind: str, candidates: list[_Candidate], rows: dict[str, Any],
                  record_of: Callable[[Any], dict[str, Any]]) -> list[tuple[_Candidate, Any, Decision, str]]:
        """Each candidate with its row (or None), what :func:`.rule.decide` says, and its digest.

        Rows met for the first time since migration 0006 get their baseline stored here, and
        every row found equal to its file takes the file's digest as its baseline.
        """
        present = [rows[c.slug] for c in candidates if c.slug in rows]
        current = {row.id: digest(record_of(row)) for row in present}
        legacy = legacy_baselines(kind, present, current)
        decided = []
        for candidate in candidates:
            row, file_digest = rows.get(candidate.slug), digest(candidate.record)
            take = (kind, candidate.slug) in self.take_file
            if take:
                self.report.taken.add((kind, candidate.slug))
            if row is None:
                decision = decide(file_digest, None, None)
            else:
                baseline = row.imported_digest or legacy.get(row.id)
                decision = decide(file_digest, current[row.id], baseline, take_file=take)
                if decision is Decision.UNCHANGED:
                    baseline = file_digest
                if baseline is not None and row.imported_digest != baseline:
                    row.imported_digest = baseline
            if decision is Decision.CONFLICT:
                self.conflict(kind, candidate, never_imported=row.imported_digest is None)
            elif decision is Decision.KEEP_WEB:
                self.report.kept[kind] += 1
            elif decision is Decision.UNCHANGED:
                self.report.unchanged[kind] += 1
            decided.append((candidate, row, decision, file_digest))
        return decided

    def conflict(self, kind: str, candidate: _Candidate, *, never_imported: bool) -> None:
        what = ("exists in the database but was never imported from this file (it was created or saved "
                "on the web)") if never_imported else "changed on the web since it was imported"
        target = f"{kind}/{candidate.slug}"
        self.report.conflicts.append(
            f"{candidate.path}:{candidate.line}: {target} {what}; the file was not applied. "
            f"To keep the web version, write it into the file: flask --app kb kb export {self.root} --only {target}; "
            f"to apply the file instead: flask --app kb kb import {self.root} --take-file {target}"
        )

    # -- writing ---------------------------------------------------------------------------

    def write_themes(self, candidates: list[_Candidate]) -> None:
        existing = {t.slug: t for t in db.session.scalars(select(Theme))}
        for candidate, theme, decision, file_digest in self.decisions("themes", candidates, existing, theme_record):
            if decision in (Decision.CREATE, Decision.APPLY):
                created = theme is None
                if created:
                    theme = Theme()
                    db.session.add(theme)
                before = {} if created else theme_record(theme)
                theme_service.apply_record(theme, candidate.record, candidate.position)
                theme.imported_digest = file_digest
                self.count("themes", created)
                if not created:
                    changed = [key for key in candidate.record if before.get(key) != candidate.record[key]]
                    audit.record("theme_saved", actor=None, subject=f"theme:{candidate.slug}", now=self.now,
                                 created=False, changed=changed, imported_from=candidate.path.name)
            elif theme.position != candidate.position:
                # Display order is set only by themes.yml (the web appends new themes last), so
                # it follows the file even when the theme's words were changed on the web.
                theme.position = candidate.position
        db.session.flush()

    def write_sites(self, candidates: list[_Candidate]) -> None:
        existing = {s.slug: s for s in db.session.scalars(select(Site))}
        decided = self.decisions("sites", candidates, existing, site_record)
        for candidate, site, decision, file_digest in self.progress(decided, "Importing sites"):
            if decision not in (Decision.CREATE, Decision.APPLY):
                continue
            created = site is None
            if created:
                site = Site()
                db.session.add(site)
            before = {} if created else site_record(site)
            site_service.apply_record(site, candidate.slug, candidate.record)
            site.imported_digest = file_digest
            self.count("sites", created)
            if not created:
                changed = [key for key in dict.fromkeys([*before, *candidate.record])
                           if before.get(key) != candidate.record.get(key)]
                audit.record("site_saved", actor=None, subject=f"site:{candidate.slug}", now=self.now,
                             created=False, changed=["profile" if k == "body" else k for k in changed],
                             imported_from=candidate.path.name)
        db.session.flush()

    def write_entries(self, candidates: list[_Candidate]) -> None:
        lookups = entry_service.Lookups(
            sites={s.slug: s for s in db.session.scalars(select(Site))},
            themes={t.slug: t for t in db.session.scalars(select(Theme))},
            entries={e.slug: e for e in db.session.scalars(select(Entry))},
        )
        changed: list[tuple[Entry, _Candidate, tuple[str, str] | None]] = []
        _load_collections([lookups.entries[c.slug] for c in candidates if c.slug in lookups.entries])
        # First every changed entry's own fields (creating new ones), so that links written in
        # the second pass can point at entries created by this same import.
        decided = [item for item in self.decisions("entries", candidates, lookups.entries, entry_record)
                   if item[2] in (Decision.CREATE, Decision.APPLY)]
        new_rows: list[tuple[_Candidate, dict[str, Any]]] = []
        for candidate, entry, _, file_digest in self.progress(decided, "Importing entries"):
            if entry is None:
                new_rows.append((candidate, self.new_entry_row(candidate, file_digest, lookups)))
            else:
                changed.append(self.write_fields(candidate, entry, file_digest, lookups))
        db.session.flush()
        # New entries' own rows are inserted together here; then their child rows, links, first
        # revisions and audit events, FLUSH_BATCH entries at a time (see write_new_entries).
        new = self.insert_new_entries(new_rows, lookups)
        changed += new
        for start in range(0, len(new), FLUSH_BATCH):
            self.write_new_entries(new[start:start + FLUSH_BATCH], lookups)
        for entry, candidate, before in changed:
            if before is None:
                continue
            entry_service.apply_links(entry, candidate.record, lookups)
            entry_service.record_revision(
                entry,
                author=None,
                now=self.now,
                summary=f"{IMPORT_REVISION_PREFIX}{candidate.path.name}",
            )
            self.count("entries", False)
            self.audit_entry(entry, candidate, before)

    def write_fields(self, candidate: _Candidate, entry: Entry, file_digest: str,
                     lookups: entry_service.Lookups) -> tuple[Entry, _Candidate, tuple[str, str]]:
        """Everything of an existing entry but its links (:func:`~kb.services.entries.apply_fields`);
        returns the entry with its status and visibility before."""
        before = (entry.status.value, entry.visibility.value)
        if candidate.body_text is not None:
            offer_body_text(entry, candidate.record.get("body", ""), candidate.body_text)
        entry_service.apply_fields(entry, candidate.record, lookups)
        entry.imported_digest = file_digest
        return entry, candidate, before

    def new_entry_row(self, candidate: _Candidate, file_digest: str, lookups: entry_service.Lookups) -> dict[str, Any]:
        """The ``entry`` row of a new entry: the columns :func:`~kb.services.entries.apply_own_fields`
        would set, its plain text, and version 1, as :func:`~kb.services.entries.record_revision`
        would make it (the revision itself is :meth:`write_new_entries`')."""
        row = entry_service.own_fields(candidate.record, lookups)
        site = row.pop("site")
        body_text = candidate.body_text if candidate.body_text is not None else to_plain_text(row["body"])
        return {**row, "site_id": site.id if site is not None else None, "body_text": body_text,
                "slug": candidate.slug, "version": 1, "modified_at": self.now, "imported_digest": file_digest}

    def insert_new_entries(self, rows: list[tuple[_Candidate, dict[str, Any]]],
                           lookups: entry_service.Lookups) -> list[tuple[Entry, _Candidate, None]]:
        """Insert the new entries' own rows together, and queue their index updates; returns each
        entry, loaded, with its candidate (and None: it is new).

        One INSERT for them all rather than the unit of work's, which SQLite makes one statement per
        row (its RETURNING cannot promise the rows' order); then the columns the import reads of
        them are loaded in batches. Their child rows are inserted without ORM objects too
        (write_new_entries): the import never reads their collections.
        """
        if not rows:
            return []
        db.session.execute(insert(Entry.__table__), [row for _, row in rows])
        slugs = [candidate.slug for candidate, _ in rows]
        for start in range(0, len(slugs), FLUSH_BATCH):
            for entry in db.session.scalars(select(Entry).where(Entry.slug.in_(slugs[start:start + FLUSH_BATCH]))
                                            .options(load_only(*_NEW_ENTRY_COLUMNS))):
                lookups.entries[entry.slug] = entry
        new = [(lookups.entries[candidate.slug], candidate, None) for candidate, _ in rows]
        indexing.queue_updates(db.session(), {entry.id for entry, _, _ in new})
        return new

    def write_new_entries(self, batch: list[tuple[Entry, _Candidate, None]], lookups: entry_service.Lookups) -> None:
        """The other sites, theme tags, sources, outcomes, links, first revision and audit event of
        each entry of ``batch``, which this import has just inserted: one INSERT per table.

        The same rows :func:`~kb.services.entries.apply_fields`, :func:`~kb.services.entries.apply_links`
        and :func:`~kb.services.entries.record_revision` write through the ORM, from the same
        values (:func:`~kb.services.entries.child_rows`), without an ORM object per row (the unit
        of work's bookkeeping for them was most of an import's time) and without the flushes
        those functions make per entry to clear old rows and claim the next version
        (:mod:`kb.services.versions`): a row inserted by this very transaction has no old rows
        and cannot be claimed by anyone else before it commits. The revision's snapshot is the
        file's record, which equals :func:`~kb.services.records.entry_record` of the entry written
        from it (:func:`~kb.services.records.entry_from_validated`; tested).
        """
        rows: dict[Any, list[dict[str, Any]]] = {table: [] for table in _NEW_ENTRY_TABLES}
        for entry, candidate, _ in batch:
            record = candidate.record
            rows[entry_other_site] += [{"entry_id": entry.id, "site_id": site.id}
                                       for site in entry_service.other_sites_of(record, lookups)]
            for model, values in entry_service.child_rows(record, lookups).items():
                for row in values:
                    row = {**row, "entry_id": entry.id}
                    if "theme" in row:
                        row["theme_id"] = row.pop("theme").id
                    rows[model].append(row)
            rows[EntryLink] += [{"from_entry_id": entry.id, "to_entry_id": lookups.entries[link["entry"]].id,
                                 "rel": LinkRel(link["rel"]), "position": i}
                                for i, link in enumerate(record.get("links", []))]
            rows[Revision].append({"entry_id": entry.id, "number": entry.version, "snapshot": record, "author_id": None,
                                   "created_at": self.now, "minor": False,
                                   "summary": f"{IMPORT_REVISION_PREFIX}{candidate.path.name}"})
            rows[AuditEvent].append(audit.event_values("entry_imported", actor=None, subject=f"entry:{entry.slug}",
                                                       now=self.now, **self.audit_detail(entry, candidate, None)))
            self.count("entries", True)
        for table, values in rows.items():
            if values:
                # Core's INSERT of the table: the ORM's bulk INSERT spent three times as long on
                # its bookkeeping as SQLite did inserting.
                db.session.execute(insert(getattr(table, "__table__", table)), values)

    def audit_entry(self, entry: Entry, candidate: _Candidate, before: tuple[str, str] | None) -> None:
        """Record a change of status or visibility of an existing entry as ``entry_imported``."""
        if before != (entry.status.value, entry.visibility.value):
            audit.record("entry_imported", actor=None, subject=f"entry:{entry.slug}", now=self.now,
                         **self.audit_detail(entry, candidate, before))

    @staticmethod
    def audit_detail(entry: Entry, candidate: _Candidate, before: tuple[str, str] | None) -> dict[str, Any]:
        """What ``entry_imported`` says of an entry: created (``before`` None), or what changed."""
        after = (entry.status.value, entry.visibility.value)
        detail: dict[str, Any] = {"imported_from": candidate.path.name, "version": entry.version}
        if before is None:
            detail.update(created=True, status=after[0], visibility=after[1])
        else:
            for name, old, new in zip(("status", "visibility"), before, after):
                if old != new:
                    detail[name] = f"{old} → {new}"
        return detail

    def count(self, kind: str, created: bool) -> None:
        (self.report.created if created else self.report.updated)[kind] += 1


# What entry_record reads of an entry beyond its own row: its collections (the sites, themes and
# linked entries they point to are already in the session: the import loads them all).
_RECORD_COLLECTIONS = tuple(selectinload(getattr(Entry, name)) for name in _ENTRY_COLLECTIONS)


def _load_collections(entries: list[Entry]) -> None:
    """Load the collections of ``entries`` (rows in this session) that comparing each with its file
    reads, a query per collection for every 500 entries, instead of one per collection and entry
    (42,000 queries, two thirds of an import of 10,000 unchanged files)."""
    ids = [entry.id for entry in entries]
    for start in range(0, len(ids), FLUSH_BATCH):
        db.session.scalars(select(Entry).where(Entry.id.in_(ids[start:start + FLUSH_BATCH]))
                           .options(*_RECORD_COLLECTIONS)).all()


def _error_sort_key(error: str) -> tuple[str, int]:
    path, line, _ = error.split(":", 2) if error.count(":") >= 2 else (error, "0", "")
    return (path, int(line) if line.isdigit() else 0)


def import_content(root: Path, *, now: datetime, progress: Progress = no_progress,
                   take_file: Iterable[tuple[str, str]] = (), write_index: bool = True,
                   workers: int | None = None) -> ImportReport:
    """Import every valid file under ``root`` (see the module docstring for the contract).

    ``take_file`` names files, as ``(kind, slug)`` pairs (see :func:`.report.parse_target`), to apply
    even over changes made on the web: how a person resolves a conflict in the file's favour.
    ``write_index=False`` leaves the index updates queued (``index_queue``) for the caller to
    write with :func:`kb.search.indexing.drain` (the import benchmark times the two apart).
    ``workers`` is how many processes read the files (:func:`.reading.read_files`; None: one per
    core for a large import, 0: none).
    """
    return _Run(Path(root), now, progress, set(take_file), write_index, workers).run()
