"""Saves racing each other on a real server: nothing is lost, nothing fails, the index keeps up.

Writers sign in, open the editor, wait at a barrier and press *Save changes* at the same moment,
each having changed a different paragraph. Every writer told "saved" must find their words in
the entry; anyone else must have been given the conflict page or their form back with a message
(a 409 that keeps their words). No answer may be a 5xx, revision numbers stay unique, and the
search index agrees with the database as soon as the burst is over.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, IndexQueueItem, Membership, Revision, Site, SiteRole, User
from kb.search import backend, consistency
from kb.search.backend import SearchRequest
from kb.search.documents import MEMBERS
from kb.services.accounts import set_password
from tests.conftest import _serve
from tests.factories import make_entry
from tests.live_server import form_fields, running_server, sign_in

WRITERS = 30
PASSWORD = "concurrent saves password"
PARAGRAPHS = WRITERS


def _body() -> str:
    return "\n\n".join(f"Paragraph {i}: the joint team met every morning." for i in range(PARAGRAPHS))


@pytest.fixture(scope="module")
def burst_site(db_templates, tmp_path_factory):
    """A running server with WRITERS leads of one site and published entries to fight over.

    Yields the server's base URL, the database, and a signed-in session for each writer.
    """
    database = db_templates["content"].copy(tmp_path_factory.mktemp("burst"))
    with _serve(database):
        site = db.session.scalar(select(Site).where(Site.slug == "sheffield"))
        for n in range(WRITERS):
            user = User(email=f"writer{n}@sheffield.example.nhs.uk", name=f"Writer {n}")
            set_password(user, PASSWORD)
            db.session.add(Membership(user=user, site=site, role=SiteRole.LEAD))
        db.session.commit()
        for slug in ["race-of-2", "race-of-5", "race-of-30", *(f"race-apart-{n}" for n in range(WRITERS))]:
            make_entry(slug, site=site, body=_body(), title=f"Race {slug}")
    limits = {"KB_SIGN_IN_LIMIT_CLIENT": "1000 per minute", "KB_SIGN_IN_LIMIT_ACCOUNT": "1000 per minute"}
    with running_server(database.instance, database.url, **limits) as base:
        sessions = [sign_in(base, f"writer{n}@sheffield.example.nhs.uk", PASSWORD) for n in range(WRITERS)]
        yield base, database, sessions
    database.drop()


@dataclass
class Attempt:
    writer: int
    slug: str
    words: str
    status: int
    page: str

    @property
    def saved(self) -> bool:
        """Redirected to the entry, as after "Your changes were saved"."""
        return self.status in (302, 303)


def _race(base: str, sessions: list[requests.Session], slugs: list[str]) -> list[Attempt]:
    """Writer ``n`` changes paragraph ``n`` of ``slugs[n]``; all press Save at the same moment."""
    forms = []
    for n, (session, slug) in enumerate(zip(sessions, slugs)):
        editor = session.get(f"{base}/entries/{slug}/edit", timeout=60)
        assert editor.status_code == 200, editor.text[:500]
        fields = form_fields(editor.text, "form.kb-editor")
        words = f"Paragraph {n}: writer {n} rewrote this ({uuid.uuid4().hex[:10]})."
        fields["body"] = [fields["body"][0].replace(f"Paragraph {n}: the joint team met every morning.", words)]
        assert words in fields["body"][0]
        fields["edit_summary"] = [f"Writer {n}'s paragraph"]
        fields["action"] = ["save"]
        forms.append((n, session, slug, words, fields))
    barrier = threading.Barrier(len(forms))

    def save(form) -> Attempt:
        n, session, slug, words, fields = form
        barrier.wait(timeout=120)
        answer = session.post(f"{base}/entries/{slug}/edit", data=fields, allow_redirects=False, timeout=120)
        return Attempt(n, slug, words, answer.status_code, answer.text)

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(save, forms))


def _check_outcome(base, database, sessions, attempts: list[Attempt]) -> None:
    statuses = [a.status for a in attempts]
    assert all(status < 500 for status in statuses), (statuses, server_output_tail(database))
    assert set(statuses) <= {302, 303, 409}, statuses
    reader = sessions[0]
    for attempt in attempts:
        text = reader.get(f"{base}/entries/{attempt.slug}", timeout=60).text
        if attempt.saved:
            assert attempt.words in text, f"writer {attempt.writer} was told 'saved' but their words are gone"
        else:  # the conflict page, or their form back with a message: their words are on it
            assert attempt.words in attempt.page
            assert "Someone else changed this entry" in attempt.page or "could not be saved" in attempt.page
    with _serve(database):
        for slug in {a.slug for a in attempts}:
            entry = db.session.scalar(select(Entry).where(Entry.slug == slug))
            numbers = list(db.session.scalars(select(Revision.number).where(Revision.entry_id == entry.id)))
            assert sorted(numbers) == list(range(1, len(numbers) + 1)) and entry.version == max(numbers)
            saved = [a for a in attempts if a.slug == slug and a.saved]
            assert len(numbers) == 1 + len(saved), "one revision per save, no more, no less"
        assert db.session.scalar(select(func.count(IndexQueueItem.id))) == 0, "index updates left queued"
        assert consistency.check(backend()) == []
        for attempt in attempts:  # the index holds the text as saved, not an older state
            token = attempt.words.split("(")[1].split(")")[0]
            found = backend().search(SearchRequest(text=token, readers=(MEMBERS,)))
            entry_id = db.session.scalar(select(Entry.id).where(Entry.slug == attempt.slug))
            assert {hit.id for hit in found.hits} == ({entry_id} if attempt.saved else set())


def server_output_tail(database) -> str:
    logs = sorted(database.instance.glob("server-*.log"))
    return logs[-1].read_text(encoding="utf-8", errors="replace")[-3000:] if logs else ""


@pytest.mark.parametrize("writers", [2, 5, WRITERS])
def test_writers_saving_one_entry_at_once_lose_nothing(burst_site, writers):
    base, database, sessions = burst_site
    attempts = _race(base, sessions[:writers], [f"race-of-{writers}"] * writers)
    _check_outcome(base, database, sessions, attempts)
    # Different paragraphs merge cleanly, so nobody should have been turned away.
    assert all(a.saved for a in attempts), [a.page[:300] for a in attempts if not a.saved]
    text = sessions[0].get(f"{base}/entries/race-of-{writers}", timeout=60).text
    assert all(a.words in text for a in attempts)


def test_writers_saving_different_entries_at_once_all_succeed(burst_site):
    base, database, sessions = burst_site
    attempts = _race(base, sessions, [f"race-apart-{n}" for n in range(WRITERS)])
    _check_outcome(base, database, sessions, attempts)
    assert all(a.saved for a in attempts), [a.page[:300] for a in attempts if not a.saved]


def test_the_same_new_entry_form_posted_five_times_at_once_makes_one_entry(burst_site):
    base, database, sessions = burst_site
    session = sessions[0]
    fields = form_fields(session.get(f"{base}/entries/new?site=sheffield", timeout=60).text, "form.kb-editor")
    title = f"Five clicks on Save {uuid.uuid4().hex[:8]}"
    fields.update(title=[title], summary=["Posted five times at once."], type=["case_study"], site=["sheffield"],
                  body=["One entry, however many times Save is pressed."], action=["save"],
                  **{"themes-0-theme": ["pooled-budgets"], "themes-0-polarity": ["enabler"],
                     "themes-0-note": ["A shared pot"], "sources-0-title": ["A board paper"]})
    barrier = threading.Barrier(5)

    def post(_n) -> requests.Response:
        barrier.wait(timeout=120)
        return session.post(f"{base}/entries/new", data=fields, allow_redirects=False, timeout=120)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(post, range(5)))
    assert [a.status_code for a in answers] == [302] * 5, [_problems(a.text) for a in answers if a.status_code != 302]
    assert len({a.headers["Location"] for a in answers}) == 1
    with _serve(database):
        made = list(db.session.scalars(select(Entry).where(Entry.title == title)))
        assert len(made) == 1 and made[0].version == 1
        assert answers[0].headers["Location"].endswith(f"/entries/{made[0].slug}")


def _problems(page: str) -> str:
    """The error summary of a page that refused a form (for assertion messages)."""
    summary = BeautifulSoup(page, "html.parser").select_one(".nhsuk-error-summary")
    return " ".join(summary.get_text(" ").split()) if summary else page[:300]
