"""The rule between ``content/`` and changes made on the web: the database is the record.

Every entry, site and theme keeps ``imported_digest``, the digest of the record its file held
when import last applied it or found the row equal to it (the *baseline*). For a file of an
existing row, import compares three digests — the file's (F), the row's as it is now (R) and the
baseline (B) — and :func:`decide` says what to do:

==========================  ============  ==========================================================
case                        decision      why
==========================  ============  ==========================================================
F == R                      UNCHANGED     nothing to do (the baseline becomes F)
F == B, R != B              KEEP_WEB      the file has not changed since it was imported; the row
                                          was changed on the web, and that change stands
F != B, R == B              APPLY         the file changed; nobody changed the row on the web since
F != B, R != B (or no B)    CONFLICT      both changed (or the row was not imported from this file):
                                          reported, not applied, until a person chooses a side
==========================  ============  ==========================================================

Choosing a side: ``--take-file`` applies the file anyway (an entry's web version stays in its
history); ``flask kb export`` writes the web version into the file, after which F == R.

Rows that existed before the baseline column (migration 0006) have none; :func:`legacy_baselines`
works one out the first time import meets them (see its docstring).
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any, Iterable

from sqlalchemy import select

from kb.extensions import db
from kb.models import AuditEvent, Revision

# The summary import gives every revision it makes ("Imported from <file>"); kept stable, since
# legacy baselines are found by it.
IMPORT_REVISION_PREFIX = "Imported from "


class Decision(enum.Enum):
    CREATE = "create"
    UNCHANGED = "unchanged"
    APPLY = "apply"
    KEEP_WEB = "keep_web"
    CONFLICT = "conflict"


def digest(record: dict[str, Any]) -> str:
    """A stable SHA-256 of a record (key order does not matter; list order does)."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decide(file: str, row: str | None, baseline: str | None, *, take_file: bool = False) -> Decision:
    """What import does with a file whose record digests to ``file`` (see the module docstring).

    ``row`` is the digest of the row as it is now (None: there is no row); ``take_file`` is the
    person's choice to apply this file whatever happened on the web.
    """
    if row is None:
        return Decision.CREATE
    if file == row:
        return Decision.UNCHANGED
    if take_file:
        return Decision.APPLY
    if baseline is not None and file == baseline:
        return Decision.KEEP_WEB
    if baseline is not None and row == baseline:
        return Decision.APPLY
    return Decision.CONFLICT


def legacy_baselines(kind: str, rows: Iterable[Any], current: dict[int, str]) -> dict[int, str]:
    """Baselines for rows imported before migration 0006, keyed by row id (rows with none are left out).

    * An **entry**'s baseline is the snapshot of its latest revision made by import (no author,
      summary ``Imported from …``): that is exactly the record import last applied. An entry with
      no such revision was created on the web and has no baseline.
    * A **site** or **theme** has no revisions; if the audit log holds no admin save of it
      (``site_saved`` / ``theme_saved``), nobody has changed it on the web and its current record
      (``current``, digests by id) is its baseline. If it was saved on the web it has none: a
      differing file is a conflict rather than a guess.
    """
    rows = [row for row in rows if row.imported_digest is None]
    if not rows:
        return {}
    if kind == "entries":
        found: dict[int, str] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 500):  # keep IN lists short on every database
            revisions = db.session.execute(
                select(Revision.entry_id, Revision.snapshot)
                .where(
                    Revision.entry_id.in_(ids[start:start + 500]),
                    Revision.author_id.is_(None),
                    Revision.summary.startswith(IMPORT_REVISION_PREFIX, autoescape=True),
                )
                .order_by(Revision.entry_id, Revision.number)
            )
            for entry_id, snapshot in revisions:
                found[entry_id] = digest(snapshot)  # the last one per entry wins
        return found
    action, prefix = {"sites": ("site_saved", "site:"), "themes": ("theme_saved", "theme:")}[kind]
    # Before migration 0006 only admins' saves were audited (import wrote sites and themes silently).
    saved_on_web = set(db.session.scalars(select(AuditEvent.subject).where(AuditEvent.action == action)))
    return {row.id: current[row.id] for row in rows if f"{prefix}{row.slug}" not in saved_on_web}
