"""A digest run's members shared out among processes: one per core, and one more.

Composing and sending one member's email is pure Python and takes a core; the delivery log
(:mod:`kb.services.digests`) already makes runs at once safe — each member's digest is claimed
in the database before it is sent, so no two senders ever send the same one. A large run
(:data:`PARALLEL_FROM` members or more, from a process with no other thread, like
``flask kb send-digests``) is therefore sent by forked processes taking :data:`CHUNK` members at
a time, each with its own database connections (:mod:`kb.database`) and its own SMTP connection,
closed when the process ends. What each subscription matches is found once, before forking, and
inherited by every process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from contextlib import ExitStack
from multiprocessing.util import Finalize
from typing import Callable, Iterable

from kb.mail import MailSender, batched

PARALLEL_FROM = 200  # members; fewer are sent faster than processes start
CHUNK = 25  # members a process takes at a time (the progress bar moves by as many)

# send_member(user_id, sending) -> (sent, skipped, failed) for that one member
SendMember = Callable[[int, MailSender], tuple[int, int, int]]


def usable(members: int, procs: int | None = None) -> bool:
    """Whether a run of ``members`` members is sent by several processes: enough of them, more
    than one core, and no other thread here (forking one could leave a child waiting for ever
    on a lock another thread held)."""
    procs = procs or len(os.sched_getaffinity(0))
    return procs > 1 and members >= PARALLEL_FROM and threading.active_count() == 1


def send(members: list[int], send_member: SendMember, sender: MailSender, *, procs: int | None = None,
         progress: Callable[[list], Iterable] | None = None) -> tuple[int, int, int]:
    """Send every member's digest with ``send_member`` in forked processes; the totals
    ``(sent, skipped, failed)``. The caller's session must hold no connection (commit first)."""
    # One more than the cores: each process waits on the SMTP server and the database part of the
    # time (three on two cores sent 10,000 digests in 122 s, two in 138 s).
    procs = procs or len(os.sched_getaffinity(0)) + 1
    chunks = [members[start:start + CHUNK] for start in range(0, len(members), CHUNK)]
    ticks = iter(progress(members)) if progress else None
    totals = [0, 0, 0]
    context = multiprocessing.get_context("fork")
    with context.Pool(procs, initializer=_inherit, initargs=(send_member, sender)) as pool:
        for chunk, counts in pool.imap_unordered(_send_chunk, [(i, chunk) for i, chunk in enumerate(chunks)]):
            totals = [total + count for total, count in zip(totals, counts)]
            for _ in range(len(chunks[chunk])) if ticks else ():
                next(ticks, None)
        pool.close()
        pool.join()  # the processes end normally: their SMTP connections say goodbye
    for _ in ticks or ():
        pass
    return totals[0], totals[1], totals[2]


_inherited: tuple = ()
_sending: list[MailSender] = []


def _inherit(send_member: SendMember, sender: MailSender) -> None:
    global _inherited
    _inherited = (send_member, sender)


def _send_chunk(task: tuple[int, list[int]]) -> tuple[int, tuple[int, int, int]]:
    index, user_ids = task
    send_member, sender = _inherited
    if not _sending:  # this process's connection to the mail server, for all its chunks
        stack = ExitStack()
        _sending.append(stack.enter_context(batched(sender)))
        Finalize(stack, stack.close, exitpriority=10)
    counts = [0, 0, 0]
    for user_id in user_ids:
        counts = [total + count for total, count in zip(counts, send_member(user_id, _sending[0]))]
    return index, (counts[0], counts[1], counts[2])
