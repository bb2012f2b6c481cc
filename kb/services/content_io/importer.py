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
objects (:mod:`.new_entries`); front matter is parsed by libyaml where it is safe to
(:func:`.frontmatter.parse_yaml`).
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import Entry, Site, Theme
from kb.models.entries import offer_body_text
from kb.search import indexing
from kb.services import audit
from kb.services import entries as entry_service
from kb.services import sites as site_service
from kb.services import themes as theme_service
from kb.services.content_io import new_entries, reading
from kb.services.content_io.candidates import Candidate, Progress, Reader, no_progress
from kb.services.content_io.new_entries import FLUSH_BATCH
from kb.services.content_io.report import ImportReport
from kb.services.content_io.rule import IMPORT_REVISION_PREFIX, Decision, decide, digest, legacy_baselines
from kb.services.content_io.schema import Problem
from kb.services.records import entry_record, site_record, theme_record
from kb.services.versions import retrying

__all__ = ["Progress", "import_content", "no_progress"]

log = logging.getLogger(__name__)
# An entry's collections: an existing entry's are loaded in batches before it is compared with its
# file (_load_collections).
_ENTRY_COLLECTIONS = ("other_sites", "theme_tags", "sources", "outcomes", "links")


class _Run(Reader):
    """One import: the files read and checked (:class:`.candidates.Reader`), then decided about
    under :mod:`.rule` and written in one transaction."""

    def __init__(self, root: Path, now: datetime, progress: Progress, take_file: set[tuple[str, str]],
                 write_index: bool = True, workers: int | None = None):
        super().__init__(root, progress)
        self.workers = workers  # asked for; self.pool holds the processes during run()
        self.write_index = write_index
        self.now = now
        self.take_file = take_file

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

    def decisions(self, kind: str, candidates: list[Candidate], rows: dict[str, Any],
                  record_of: Callable[[Any], dict[str, Any]]) -> list[tuple[Candidate, Any, Decision, str]]:
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

    def conflict(self, kind: str, candidate: Candidate, *, never_imported: bool) -> None:
        what = ("exists in the database but was never imported from this file (it was created or saved "
                "on the web)") if never_imported else "changed on the web since it was imported"
        target = f"{kind}/{candidate.slug}"
        self.report.conflicts.append(
            f"{candidate.path}:{candidate.line}: {target} {what}; the file was not applied. "
            f"To keep the web version, write it into the file: flask --app kb kb export {self.root} --only {target}; "
            f"to apply the file instead: flask --app kb kb import {self.root} --take-file {target}"
        )

    # -- writing ---------------------------------------------------------------------------

    def write_themes(self, candidates: list[Candidate]) -> None:
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

    def write_sites(self, candidates: list[Candidate]) -> None:
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

    def write_entries(self, candidates: list[Candidate]) -> None:
        lookups = entry_service.Lookups(
            sites={s.slug: s for s in db.session.scalars(select(Site))},
            themes={t.slug: t for t in db.session.scalars(select(Theme))},
            entries={e.slug: e for e in db.session.scalars(select(Entry))},
        )
        changed: list[tuple[Entry, Candidate, tuple[str, str] | None]] = []
        _load_collections([lookups.entries[c.slug] for c in candidates if c.slug in lookups.entries])
        # First every changed entry's own fields (creating new ones), so that links written in
        # the second pass can point at entries created by this same import.
        decided = [item for item in self.decisions("entries", candidates, lookups.entries, entry_record)
                   if item[2] in (Decision.CREATE, Decision.APPLY)]
        new_rows: list[tuple[Candidate, dict[str, Any]]] = []
        for candidate, entry, _, file_digest in self.progress(decided, "Importing entries"):
            if entry is None:
                new_rows.append((candidate, new_entries.new_entry_row(candidate, file_digest, lookups, self.now)))
            else:
                changed.append(self.write_fields(candidate, entry, file_digest, lookups))
        db.session.flush()
        # New entries' own rows are inserted together here; then their child rows, links, first
        # revisions and audit events, FLUSH_BATCH entries at a time (see new_entries.write_new_entries).
        new = new_entries.insert_new_entries(new_rows, lookups)
        changed += new
        for start in range(0, len(new), FLUSH_BATCH):
            new_entries.write_new_entries(new[start:start + FLUSH_BATCH], lookups, self.now)
            self.report.created["entries"] += len(new[start:start + FLUSH_BATCH])
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

    def write_fields(self, candidate: Candidate, entry: Entry, file_digest: str,
                     lookups: entry_service.Lookups) -> tuple[Entry, Candidate, tuple[str, str]]:
        """Everything of an existing entry but its links (:func:`~kb.services.entries.apply_fields`);
        returns the entry with its status and visibility before."""
        before = (entry.status.value, entry.visibility.value)
        if candidate.body_text is not None:
            offer_body_text(entry, candidate.record.get("body", ""), candidate.body_text)
        entry_service.apply_fields(entry, candidate.record, lookups)
        entry.imported_digest = file_digest
        return entry, candidate, before

    def audit_entry(self, entry: Entry, candidate: Candidate, before: tuple[str, str] | None) -> None:
        """Record a change of status or visibility of an existing entry as ``entry_imported``."""
        if before != (entry.status.value, entry.visibility.value):
            audit.record("entry_imported", actor=None, subject=f"entry:{entry.slug}", now=self.now,
                         **new_entries.audit_detail(entry, candidate, before))

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
