"""Searches take turns: at most ``KB_SEARCH_CONCURRENCY`` of one process are at work at once
(kb/services/search.py ``_taking_turns``), the others wait and are then answered in full."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kb.search import backend
from tests.pages import get_page, main_text

WORDS = ["care", "budget", "integration", "homes", "evaluation", "telehealth", "data", "sharing",
         "leadership", "pooled", "frailty", "carers"]


def _watch(search_backend):
    """Count the searches inside the real backend at each moment; keep the most seen."""
    real = search_backend.search
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def counted(request):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            return real(request)
        finally:
            with lock:
                state["now"] -= 1

    search_backend.search = counted
    return state


@pytest.mark.parametrize("allowed", [1, 2])
def test_no_more_searches_at_work_than_allowed_and_every_one_answered(content_app, allowed):
    content_app.config["KB_SEARCH_CONCURRENCY"] = allowed
    state = _watch(backend())
    expected = {}
    client = content_app.test_client()
    for word in WORDS:  # one at a time: what each search finds on its own
        expected[word] = main_text(get_page(client, f"/search?q={word}"))

    def search(word: str) -> str:
        return main_text(get_page(content_app.test_client(), f"/search?q={word}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = dict(zip(WORDS * 3, pool.map(search, WORDS * 3)))
    assert state["most"] <= allowed, state
    assert found == expected  # waiting for a turn changes no answer
    assert all("entries" in text or "entry" in text for text in found.values())
