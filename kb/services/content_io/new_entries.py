"""Writing the entries an import creates, in bulk: one INSERT per table rather than the ORM's
unit of work (docs/benchmarks.md, ``bench/import.py``: its bookkeeping was most of an import's time).

Writes the same rows as :func:`~kb.services.entries.apply_fields`,
:func:`~kb.services.entries.apply_links` and :func:`~kb.services.entries.record_revision`, from the
same values (:func:`~kb.services.entries.child_rows`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import load_only

from kb.extensions import db
from kb.markdown import to_plain_text
from kb.models import AuditEvent, Entry, EntryLink, LinkRel, Outcome, Revision, Source, ThemeTag
from kb.models.entries import entry_other_site
from kb.search import indexing
from kb.services import audit
from kb.services import entries as entry_service
from kb.services.content_io.candidates import Candidate
from kb.services.content_io.rule import IMPORT_REVISION_PREFIX

# New entries whose child rows, links, revisions and audit events are inserted together.
FLUSH_BATCH = 500
# What write_new_entries inserts for a new entry, in an order its foreign keys allow.
_NEW_ENTRY_TABLES = (entry_other_site, ThemeTag, Source, Outcome, EntryLink, Revision, AuditEvent)
# What the import reads of an entry it has just inserted (its other columns load if asked for).
_NEW_ENTRY_COLUMNS = (Entry.id, Entry.slug, Entry.status, Entry.visibility, Entry.version)


def new_entry_row(candidate: Candidate, file_digest: str, lookups: entry_service.Lookups,
                  now: datetime) -> dict[str, Any]:
    """The ``entry`` row of a new entry: the columns :func:`~kb.services.entries.apply_own_fields`
    would set, its plain text, and version 1, as :func:`~kb.services.entries.record_revision`
    would make it (the revision itself is :func:`write_new_entries`')."""
    row = entry_service.own_fields(candidate.record, lookups)
    site = row.pop("site")
    body_text = candidate.body_text if candidate.body_text is not None else to_plain_text(row["body"])
    return {**row, "site_id": site.id if site is not None else None, "body_text": body_text,
            "slug": candidate.slug, "version": 1, "modified_at": now, "imported_digest": file_digest}


def insert_new_entries(rows: list[tuple[Candidate, dict[str, Any]]],
                       lookups: entry_service.Lookups) -> list[tuple[Entry, Candidate, None]]:
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


def write_new_entries(batch: list[tuple[Entry, Candidate, None]], lookups: entry_service.Lookups,
                      now: datetime) -> None:
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
                               "created_at": now, "minor": False,
                               "summary": f"{IMPORT_REVISION_PREFIX}{candidate.path.name}"})
        rows[AuditEvent].append(audit.event_values("entry_imported", actor=None, subject=f"entry:{entry.slug}",
                                                   now=now, **audit_detail(entry, candidate, None)))
    for table, values in rows.items():
        if values:
            # Core's INSERT of the table: the ORM's bulk INSERT spent three times as long on
            # its bookkeeping as SQLite did inserting.
            db.session.execute(insert(getattr(table, "__table__", table)), values)


def audit_detail(entry: Entry, candidate: Candidate, before: tuple[str, str] | None) -> dict[str, Any]:
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
