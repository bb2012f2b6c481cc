"""Entry versions as the lock that makes saves safe to race.

Every change to an entry — an editor's save, a restore, a workflow step, an import — ends with a
new revision whose number becomes ``entry.version``. Before writing anything, the change
*claims* the next version with one compare-and-set in the database::

    UPDATE entry SET version = V + 1 WHERE id = :id AND version = V

where ``V`` is the version the change read and based its decisions on (merges, permission
checks, workflow rules). Exactly one of any number of racing changes from ``V`` matches a row;
the others learn they lost (:class:`LostRace`) before they have written a thing, roll back and
start again from what the winner committed — so a save from an older version always goes
through the merge, and a clash always reaches the conflict page. The claimed row stays locked
(a row lock on PostgreSQL, the write lock on SQLite) until the change commits, so its revision
number is unique by construction.

:func:`retrying` runs one whole read–decide–write attempt until it commits, and turns a change
that keeps losing into :class:`Busy` (409) — never a 500, never a silent loss. The first attempt
is optimistic (no lock while it reads and merges); a retry first locks the entry
(:func:`lock_entry`), so under a burst of N savers each saves in at most two attempts instead of
the last one losing N - 1 times.
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

from sqlalchemy import event, inspect, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kb.extensions import db
from kb.models import Entry
from kb.services.errors import ServiceError

log = logging.getLogger(__name__)

T = TypeVar("T")

# How many times a change that lost a race starts again before giving up. Each retry means
# someone else's save committed, so this many only run out under a burst of saves of one entry.
ATTEMPTS = 12
CLAIMS = "kb.entry_version_claims"  # session.info: {entry id: claimed version} this transaction


class LostRace(Exception):
    """Someone else changed the entry since it was read: roll back and start again."""


class Busy(ServiceError):
    """A change lost the race to other people's changes of the same entry too many times."""

    status = 409


def claim_version(entry: Entry) -> int:
    """Claim ``entry``'s next version for this transaction and return it (idempotent).

    Nothing is flushed before the claim, so no other write of this change can precede it.
    A new entry (not yet in the database) claims version 1.

    :raise LostRace: if the entry's version in the database is no longer the one read.
    """
    claims = db.session.info.setdefault(CLAIMS, {})
    state = inspect(entry)
    if not state.persistent:
        return (entry.version or 0) + 1
    if entry.id in claims:
        return claims[entry.id]
    with db.session.no_autoflush:
        read = entry.version
        claimed = db.session.execute(
            update(Entry).where(Entry.id == entry.id, Entry.version == read).values(version=read + 1),
            execution_options={"synchronize_session": False},
        )
    if claimed.rowcount != 1:
        raise LostRace(f"entry {entry.id} changed after it was read at version {read}")
    set_committed_value(entry, "version", read + 1)
    claims[entry.id] = read + 1
    return read + 1


def lock_entry(slug: str) -> None:
    """Hold entry ``slug``'s row against other writers until this transaction ends.

    A no-op ``UPDATE`` does it portably: a row lock on PostgreSQL, the database's write lock on
    SQLite (where ``SELECT … FOR UPDATE`` does not exist). Whatever this transaction reads
    afterwards is what it will write over, so its claim cannot lose.
    """
    with db.session.no_autoflush:
        db.session.execute(update(Entry).where(Entry.slug == slug).values(version=Entry.version),
                           execution_options={"synchronize_session": False})


def retrying(attempt: Callable[[], T], *, what: str = "change", lock: Callable[[], None] | None = None) -> T:
    """Run ``attempt`` — one transaction that reads, decides, claims and commits — until it commits.

    A lost race (:class:`LostRace`, or a unique constraint another change got to first) rolls
    back and runs ``attempt`` again, which then reads the winner's work; ``lock`` (e.g. a
    :func:`lock_entry`) is called before each retry, so that the retry cannot lose again.

    :raise Busy: if it lost :data:`ATTEMPTS` times in a row.
    """
    for number in range(ATTEMPTS):
        try:
            if number and lock is not None:
                lock()
            return attempt()
        except (LostRace, IntegrityError) as race:
            db.session.rollback()
            log.info("%s lost a race and starts again: %s", what, race)
    raise Busy(f"So many people are changing this entry at this moment that your {what} could not be "
               "saved. Nothing of it was saved; please try again.")


def _forget_claims(session: Session, *_args) -> None:
    session.info.pop(CLAIMS, None)


event.listen(Session, "after_commit", _forget_claims)
event.listen(Session, "after_soft_rollback", _forget_claims)
