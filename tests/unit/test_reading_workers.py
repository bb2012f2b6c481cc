"""How an import starts the processes that read its files."""

from __future__ import annotations

import threading

from kb.services.content_io import reading


def test_workers_are_forked_only_while_no_other_thread_runs():
    alone = threading.active_count() == 1
    assert reading._context().get_start_method() == ("fork" if alone else "spawn")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert reading._context().get_start_method() == "spawn"  # a thread may hold a lock the child needs
    finally:
        stop.set()
        other.join()
