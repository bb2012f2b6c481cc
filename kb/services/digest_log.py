"""The digest delivery log: what makes a digest run idempotent and crash-safe.

One row per member and period (:class:`~kb.models.DigestDelivery`), unique on
``(user_id, period_key)``:

1. *claim*: INSERT the row as ``claimed`` and commit on its own. Of two runs at once, only one
   INSERT succeeds (the database's unique key decides, on SQLite and PostgreSQL alike); the
   other sees the row and skips that member. A row already ``sent`` is skipped: run twice for
   the same period, nothing is sent twice.
2. *send* through the sender (SMTP, outbox, memory).
3. on success, mark the row ``sent`` and move the subscriptions' ``last_sent_at`` to ``now`` in
   one transaction; on failure (server down, 4xx, 5xx for the recipient) mark it ``failed``
   with the error and leave the subscriptions alone, so the next run retries it (taking the row
   over with a compare-and-set on ``claim_token``, so again only one run can).

A run killed between two members leaves every finished member ``sent`` and the next run sends
exactly the rest. A run killed while sending one member's email leaves that row ``claimed``;
after ``KB_DIGEST_CLAIM_SECONDS`` (the lease: longer than any one send) the next run takes it
over and sends it. The one window that cannot be closed from here is a kill after the mail
server accepted the message and before the ``sent`` commit (one statement): that member gets
the digest again — at least once, never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from kb.extensions import db
from kb.models import DeliveryStatus, DigestDelivery, DigestRun, Subscription
from kb.models.types import as_utc, utcnow

MAX_ERROR = 1000  # characters of an SMTP error kept in the log


# The log is written with Core statements built once, their values bound at each use: two per
# member in a run of thousands, where building and keying a statement each time cost more than
# SQLite took to run it. Nothing in the session needs to know of these rows.
_LOG = DigestDelivery.__table__
_SUBSCRIPTIONS = Subscription.__table__
_CLAIM = insert(_LOG).values(
    user_id=bindparam("b_user_id"), run_id=bindparam("b_run_id"), period_key=bindparam("b_key"),
    status=DeliveryStatus.CLAIMED, claim_token=bindparam("b_claim"), attempts=1, subscription_ids=bindparam("b_ids"),
    entry_ids=bindparam("b_entries"), period_end=bindparam("b_now"), claimed_at=bindparam("b_wall"),
    updated_at=bindparam("b_wall"))
_MINE = (_LOG.c.user_id == bindparam("b_user_id")) & (_LOG.c.period_key == bindparam("b_key")) & \
    (_LOG.c.claim_token == bindparam("b_claim"))
_MARK_SENT = update(_LOG).where(_MINE).values(status=DeliveryStatus.SENT, sent_at=bindparam("b_wall"), error=None,
                                              updated_at=bindparam("b_wall"))
_MARK_FAILED = update(_LOG).where(_MINE).values(status=DeliveryStatus.FAILED, error=bindparam("b_error"),
                                                updated_at=bindparam("b_wall"))
_PERIODS_SENT = update(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.id.in_(bindparam("b_ids", expanding=True))) \
    .values(last_sent_at=bindparam("b_now"))


@dataclass(frozen=True)
class Record:
    """What the log keeps of one digest: whose, which period (``key``), the subscriptions it
    holds and the entries it shows."""

    user_id: int
    key: str
    subscription_ids: tuple[int, ...]
    entry_ids: tuple[int, ...]

    def row(self) -> DigestDelivery | None:
        return db.session.scalar(select(DigestDelivery).where(DigestDelivery.user_id == self.user_id,
                                                              DigestDelivery.period_key == self.key))


def claim(record: Record, now: datetime, run_id: int | None) -> str | None:
    """Claim the record's row for this run; its claim token, or ``None`` if it is not ours to send."""
    # The claim is a transaction of its own: it must commit, or fail on the unique key, alone.
    db.session.commit()
    claim, wall = uuid.uuid4().hex, utcnow()
    ids = " ".join(map(str, record.subscription_ids))
    entries = " ".join(map(str, record.entry_ids))
    try:
        db.session.execute(_CLAIM, {"b_user_id": record.user_id, "b_run_id": run_id, "b_key": record.key,
                                    "b_claim": claim, "b_ids": ids, "b_entries": entries, "b_now": now, "b_wall": wall})
        db.session.commit()
        return claim
    except IntegrityError:  # another run (now or earlier) has this member's period
        db.session.rollback()
    row = record.row()
    if row is None or row.status == DeliveryStatus.SENT:
        return None
    lease = timedelta(seconds=current_app.config["KB_DIGEST_CLAIM_SECONDS"])
    if row.status == DeliveryStatus.CLAIMED and wall - as_utc(row.claimed_at) < lease:
        return None  # another run is sending it right now
    taken = db.session.execute(
        update(_LOG)
        .where(_LOG.c.id == row.id, _LOG.c.claim_token == row.claim_token)
        .values(status=DeliveryStatus.CLAIMED, claim_token=claim, attempts=_LOG.c.attempts + 1,
                run_id=run_id, subscription_ids=ids, entry_ids=entries, period_end=now, claimed_at=wall,
                updated_at=wall, error=None))
    db.session.commit()
    return claim if taken.rowcount == 1 else None


def finish(record: Record, claim: str, now: datetime, error: str | None) -> None:
    """Mark the row ``claim`` holds sent (and move the subscriptions' periods on) or failed (and
    leave them). A row another run has taken over since (its lease ran out) is theirs to mark."""
    values = {"b_user_id": record.user_id, "b_key": record.key, "b_claim": claim, "b_wall": utcnow()}
    if error is None:
        db.session.execute(_MARK_SENT, values)
        db.session.execute(_PERIODS_SENT, {"b_ids": list(record.subscription_ids), "b_now": now})
    else:
        db.session.execute(_MARK_FAILED, {**values, "b_error": error[:MAX_ERROR]})
    db.session.commit()


def recent_runs(limit: int = 20) -> list[DigestRun]:
    """The last ``limit`` runs, newest first (for the admin page)."""
    return list(db.session.scalars(select(DigestRun).order_by(DigestRun.id.desc()).limit(limit)))


def failures(limit: int = 50) -> list[DigestDelivery]:
    """Digests whose last attempt failed and whose member has had no digest sent since (a later
    period's digest holds what the failed one would have), newest first."""
    later = aliased(DigestDelivery)
    sent_since = (select(later.id).where(later.user_id == DigestDelivery.user_id,
                                         later.status == DeliveryStatus.SENT,
                                         later.sent_at > DigestDelivery.updated_at).exists())
    return list(db.session.scalars(
        select(DigestDelivery).where(DigestDelivery.status == DeliveryStatus.FAILED, ~sent_since)
        .options(selectinload(DigestDelivery.user))
        .order_by(DigestDelivery.updated_at.desc(), DigestDelivery.id.desc()).limit(limit)))
