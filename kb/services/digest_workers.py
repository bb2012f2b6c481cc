"""A large digest run shared out among worker processes.

A member's email takes about 10 ms of Python to put together and about as long again waiting
for the mail server to take it, so one process cannot use a second core, nor do anything while
it waits. From :data:`SHARE_FROM` members on, :func:`kb.services.digests.send_digests` hands
the members to ``KB_DIGEST_WORKERS`` processes in chunks of :data:`CHUNK`; each worker sends its
chunk as a run in one process would (:func:`kb.services.digests.send_to`: the delivery log's
claims, one SMTP connection per chunk), so nothing is sent twice however the chunks fall, and a
worker that dies leaves its members to the next run exactly as a killed run does.

What each distinct subscription finds is searched once, in the parent, before the workers start,
and handed to each of them (:class:`kb.services.digests.Matches`); whether a member may read each
entry is still checked per member at sending time, in the worker.

The workers are *spawned*, not forked: a forked child inherits the parent's database connections
and session in mid-transaction (two processes on one PostgreSQL connection corrupt it), its
locks and its threads. A spawned worker starts afresh and builds its own app from the parent's
configuration. :class:`~concurrent.futures.ProcessPoolExecutor` rather than
:class:`multiprocessing.pool.Pool`, because a worker that dies fails the chunks left
(``BrokenProcessPool``) where a pool would wait for them for ever. Scripts that call
``send_digests`` need the ``if __name__ == "__main__":`` guard that spawning requires.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Callable, Iterable

from flask import Flask, current_app

from kb.extensions import db
from kb.mail import MailSender, OutboxSender, SmtpSender

if TYPE_CHECKING:
    from kb.services.digests import Matches, RunReport

log = logging.getLogger(__name__)

# Fewer members than this are sent in-process: starting the workers (about two seconds of CPU
# each, importing and building the app) costs more than they save. Measured with bench/digests:
# 300 members took 4.3 s in one process and 7.8 s shared among three.
SHARE_FROM = 1000
CHUNK = 25  # members per task: small enough to keep every worker busy to the end

_worker: dict[str, Any] = {}  # in a worker: its app and the parent's matches


def how_many(sender: MailSender, members: int, dry_run: bool) -> int:
    """How many processes should send ``members`` digests through ``sender`` (1: this one).

    Only the sender the configuration names can be shared, and only one that leaves no state in
    this process (SMTP, the outbox): a worker makes its own from ``KB_MAIL_URL``.
    """
    workers = current_app.config["KB_DIGEST_WORKERS"]
    shareable = isinstance(sender, (SmtpSender, OutboxSender)) and sender is current_app.extensions["kb.mail"]
    if dry_run or not shareable or members < SHARE_FROM:
        return 1
    return max(1, min(workers, members // CHUNK))


def send_shared(members: list[int], matches: Matches, workers: int, report: RunReport,
                progress: Callable[[list], Iterable] | None = None) -> None:
    """Send the digests of ``members`` (ids) from ``workers`` processes, counting in ``report``.

    ``progress`` wraps ``members`` as in :func:`kb.services.digests.send_digests`; it moves on
    as chunks finish. A chunk whose worker died counts as failed (its members are retried by the
    next run); this process carries on with the rest.
    """
    # Nothing of this process's transaction may be held while the workers write.
    db.session.commit()
    chunks = [members[start:start + CHUNK] for start in range(0, len(members), CHUNK)]
    ticks = iter(progress(members)) if progress else None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                             initargs=(_portable_config(current_app), matches)) as pool:
        futures = {pool.submit(_send_chunk, chunk, report.run_id): chunk for chunk in chunks}
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                sent, skipped, failed = future.result()
            except Exception:  # noqa: BLE001 - a worker that died, or could not start
                log.exception("a digest worker failed; its %d members are tried again next run", len(chunk))
                sent, skipped, failed = 0, 0, len(chunk)
            report.sent, report.skipped, report.failed = (report.sent + sent, report.skipped + skipped,
                                                          report.failed + failed)
            for _ in chunk if ticks is not None else ():
                next(ticks, None)
    for _ in ticks or ():  # let the bar finish
        pass


def _portable_config(app: Flask) -> dict[str, Any]:
    """The settings a worker's app is built with: this app's own (``KB_*``, the database, the
    secret key), so a worker sends from the same database through the same sender as this one."""
    plain = (str, int, float, bool, type(None), PurePath)
    return {key: value for key, value in app.config.items()
            if (key.startswith("KB_") or key in {"SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "TESTING",
                                                 "TRUSTED_HOSTS", "SERVER_NAME"})
            and isinstance(value, plain + (list, tuple, frozenset, set))}


def _start(config: dict[str, Any], matches: Matches) -> None:
    """A worker's start: its own app (and so its own database engine and sender), kept current."""
    from kb import create_app  # here: kb's package imports this module's callers

    app = create_app(config)
    app.app_context().push()
    _worker.update(app=app, matches=matches)


def _send_chunk(members: list[int], run_id: int | None) -> tuple[int, int, int]:
    """In a worker: send the digests of ``members``; ``(sent, skipped, failed)``."""
    from kb.services.digests import RunReport, send_to

    report = RunReport(run_id=run_id)
    try:
        send_to(members, _worker["matches"], _worker["app"].extensions["kb.mail"], False, report)
    finally:
        db.session.remove()  # the connection goes back to the pool between chunks
    return report.sent, report.skipped, report.failed
