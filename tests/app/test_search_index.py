"""The index agrees with the database: after every kind of save, after a crash between commit
and index write, with several processes saving at once, during a rebuild, and when it is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from sqlalchemy import select

from kb.config import PROJECT_ROOT
from kb.extensions import db
from kb.models import Entry, EntryStatus, IndexQueueItem, Visibility
from kb.search import backend, consistency
from kb.search.backend import SearchRequest
from kb.search.documents import ANYONE, MEMBERS
from kb.services.entries import record_revision
from tests.conftest import NOW
from tests.factories import make_entry
from tests.pages import get_page, main_text

# Every entry of content/ (the content_app's database holds them all).
CONTENT_ENTRIES = len(list((PROJECT_ROOT / "content" / "entries").glob("*.md")))


def _save(entry: Entry, **changes) -> None:
    for name, value in changes.items():
        setattr(entry, name, value)
    record_revision(entry, author=None, now=NOW, summary="Edited in a test")
    db.session.commit()


def _finds(word: str, readers=(MEMBERS,)) -> set[int]:
    hits = backend().search(SearchRequest(text=word, readers=readers, limit=100))
    return {hit.id for hit in hits.hits}


def _subprocess_env(app) -> dict[str, str]:
    return {
        **os.environ,
        "KB_INSTANCE_PATH": str(app.instance_path),
        "KB_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "KB_SECRET_KEY": "test-secret",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def test_check_finds_nothing_after_create_edit_publish_unpublish_delete(content_app):
    entry = make_entry(title="Quokka pathway", status="draft")
    assert consistency.check(backend()) == []
    assert _finds("quokka") == set()

    _save(entry, status=EntryStatus.PUBLISHED)
    assert consistency.check(backend()) == [] and _finds("quokka") == {entry.id}

    _save(entry, title="Wombat pathway")
    assert consistency.check(backend()) == []
    assert _finds("quokka") == set() and _finds("wombat") == {entry.id}

    _save(entry, visibility=Visibility.NETWORK)
    assert consistency.check(backend()) == []
    assert _finds("wombat", readers=(ANYONE,)) == set() and _finds("wombat") == {entry.id}

    _save(entry, status=EntryStatus.DRAFT)
    assert consistency.check(backend()) == [] and _finds("wombat") == set()

    db.session.delete(entry)
    db.session.commit()
    assert consistency.check(backend()) == [] and _finds("wombat") == set()


def test_check_stays_clean_through_a_random_sequence_of_saves(content_app):
    rng = random.Random(2013)
    entries = list(db.session.scalars(select(Entry).order_by(Entry.id)))
    for step in range(40):
        action = rng.choice(["edit", "status", "visibility", "create", "delete"])
        if action == "create" or not entries:
            entries.append(make_entry(status=rng.choice(["draft", "published"])))
        elif action == "delete":
            db.session.delete(entries.pop(rng.randrange(len(entries))))
            db.session.commit()
        else:
            entry = rng.choice(entries)
            if action == "edit":
                _save(entry, title=f"Edited title number {step}")
            elif action == "status":
                _save(entry, status=rng.choice(list(EntryStatus)))
            else:
                _save(entry, visibility=rng.choice(list(Visibility)))
        assert consistency.check(backend()) == [], f"after step {step} ({action})"


def test_a_rolled_back_change_never_reaches_the_index(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED))
    entry.title = "Platypus partnership"
    db.session.flush()
    db.session.rollback()
    assert _finds("platypus") == set()
    assert consistency.check(backend()) == []


def test_a_changed_site_name_reindexes_its_entries(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.site_id.is_not(None)))
    entry.site.name = "Narwhal Borough"
    db.session.commit()
    assert entry.id in _finds("narwhal")


_KILL_MID_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    from sqlalchemy import select
    from kb import create_app
    from kb.extensions import db
    from kb.models import Entry
    from kb.search.whoosh_backend import WhooshBackend
    from kb.services.entries import record_revision
    from datetime import datetime, timezone

    def die_before_writing(self, ids, load, **options):
        os.kill(os.getpid(), signal.SIGKILL)

    WhooshBackend.apply = die_before_writing
    app = create_app()
    with app.app_context():
        entry = db.session.scalar(select(Entry).where(Entry.slug == sys.argv[1]))
        entry.title = "Axolotl discharge service"
        record_revision(entry, author=None, now=datetime.now(timezone.utc), summary="Saved, then killed")
        db.session.commit()
    """
)


def test_killing_the_process_between_commit_and_index_write_leaves_the_update_queued(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.visibility == Visibility.PUBLIC))
    old_version = entry.version
    done = subprocess.run(
        [sys.executable, "-c", _KILL_MID_SAVE, entry.slug], env=_subprocess_env(content_app), capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).version == old_version + 1  # the commit happened
    assert _finds("axolotl") == set()  # the index write did not
    assert [row.entry_id for row in db.session.scalars(select(IndexQueueItem))] == [entry.id]  # but it is queued

    runner = content_app.test_cli_runner()
    checked = runner.invoke(args=["kb", "index", "check"])
    assert checked.exit_code == 0, checked.output
    assert "Wrote 1 queued index update(s)." in checked.output
    assert "The search index agrees with the database." in checked.output
    assert _finds("axolotl") == {entry.id}
    assert db.session.scalars(select(IndexQueueItem)).all() == []


def test_the_next_save_writes_updates_left_queued_by_a_killed_process(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.visibility == Visibility.PUBLIC))
    done = subprocess.run(
        [sys.executable, "-c", _KILL_MID_SAVE, entry.slug], env=_subprocess_env(content_app), capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    other = db.session.scalar(select(Entry).where(Entry.id != entry.id).order_by(Entry.id))
    other.title = "Capybara reablement"
    record_revision(other, author=None, now=NOW, summary="another save")
    db.session.commit()
    assert _finds("axolotl") == {entry.id}
    assert _finds("capybara") == {other.id}
    assert consistency.check(backend()) == []


def test_an_index_that_lost_a_document_is_found_and_repaired(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.visibility == Visibility.PUBLIC))
    assert backend().apply([entry.id], lambda ids: {})  # the index forgets it; the database does not
    runner = content_app.test_cli_runner()
    checked = runner.invoke(args=["kb", "index", "check"])
    assert checked.exit_code == 1
    assert f"entry {entry.id}: missing from the index" in checked.output

    repaired = runner.invoke(args=["kb", "index", "check", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "Repaired 1 entries; 0 disagreement(s) left." in repaired.output
    assert runner.invoke(args=["kb", "index", "check"]).exit_code == 0


_SAVE_MANY = textwrap.dedent(
    """
    import sys
    from sqlalchemy import select
    from kb import create_app
    from kb.extensions import db
    from kb.models import Entry
    from kb.services.entries import record_revision
    from datetime import datetime, timezone

    from kb.services.versions import retrying

    def save(slug, title):
        entry = db.session.scalar(select(Entry).where(Entry.slug == slug))
        entry.title = title
        record_revision(entry, author=None, now=datetime.now(timezone.utc), summary="concurrent")
        db.session.commit()

    app = create_app()
    with app.app_context():
        for round_ in range(4):
            for slug in sys.argv[2:]:
                retrying(lambda: save(slug, f"Worker {sys.argv[1]} round {round_} saved this"))
    """
)


def test_several_processes_saving_at_once_lose_no_index_update(content_app):
    slugs = list(db.session.scalars(select(Entry.slug).order_by(Entry.id).limit(9)))
    shared = slugs[0]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVE_MANY, str(n), shared, *slugs[1 + 2 * n: 3 + 2 * n]],
            env=_subprocess_env(content_app),
            stderr=subprocess.PIPE,
        )
        for n in range(4)
    ]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read().decode()
        worker.stderr.close()
    db.session.expire_all()
    assert consistency.check(backend()) == []
    shared_entry = db.session.scalar(select(Entry).where(Entry.slug == shared))
    stored = backend().search(SearchRequest(text=f'"{shared_entry.title}"', readers=(MEMBERS,) , limit=50))
    assert shared_entry.id in {hit.id for hit in stored.hits}


def test_reindex_swaps_in_a_fresh_index_while_searches_keep_working(content_app):
    expected = backend().search(SearchRequest(text="care", readers=(ANYONE,))).total
    old_generation = backend().store.live_path()
    errors, totals, stop = [], [], threading.Event()

    def keep_searching():
        with content_app.app_context():
            while not stop.is_set():
                try:
                    totals.append(backend().search(SearchRequest(text="care", readers=(ANYONE,))).total)
                except Exception as error:  # noqa: BLE001 - any failure is what the test looks for
                    errors.append(error)

    searcher_thread = threading.Thread(target=keep_searching)
    searcher_thread.start()
    try:
        result = content_app.test_cli_runner().invoke(args=["kb", "reindex"])
    finally:
        stop.set()
        searcher_thread.join()
    assert result.exit_code == 0, result.output
    assert f"Indexed {CONTENT_ENTRIES} entries" in result.output
    assert errors == [] and totals and set(totals) == {expected}
    assert backend().store.live_path() != old_generation and not old_generation.exists()
    assert consistency.check(backend()) == []


def _break_index(app, how: str) -> None:
    live = backend().store.live_path()
    backend().close()
    if how == "missing":
        os.unlink(Path(app.config["KB_INDEX_DIR"]) / "current")
    else:
        for path in live.iterdir():
            path.write_bytes(b"\x00garbage\xff" * 7)


def test_a_missing_or_corrupt_index_gives_a_clear_message_and_simple_results_until_rebuilt(content_app):
    client = content_app.test_client()
    for how in ("missing", "corrupt"):
        _break_index(content_app, how)
        response = client.get("/search?q=care")
        assert response.status_code == 200
        page = get_page(client, "/search?q=care")
        assert "Full search is not available right now" in main_text(page)
        assert page.find(id="results") is not None  # simpler results are still shown
        entry_page = client.get("/entries/" + db.session.scalar(select(Entry.slug).where(Entry.visibility == Visibility.PUBLIC, Entry.status == EntryStatus.PUBLISHED)))
        assert entry_page.status_code == 200
        check = content_app.test_cli_runner().invoke(args=["kb", "index", "check"])
        assert check.exit_code == 1 and "reindex" in check.output
        rebuilt = content_app.test_cli_runner().invoke(args=["kb", "index", "check", "--repair"])
        assert rebuilt.exit_code == 0 and f"Rebuilt the search index with {CONTENT_ENTRIES} entries" in rebuilt.output
        assert "Full search is not available" not in main_text(get_page(client, "/search?q=care"))


def test_a_search_that_runs_out_of_time_shows_partial_results_labelled_as_such(content_app):
    content_app.config["KB_SEARCH_SECONDS"] = 0.0
    client = content_app.test_client()
    response = client.get('/search?q="pooled budget"')
    assert response.status_code == 200
    page = get_page(client, '/search?q="pooled budget"')
    assert "Partial results" in main_text(page) and "took too long" in main_text(page)
    content_app.config["KB_SEARCH_SECONDS"] = 2.0
    assert "Partial results" not in main_text(get_page(client, '/search?q="pooled budget"'))


def test_saving_an_entry_derives_the_plain_text_that_search_indexes(content_app):
    entry = make_entry(title="Plain text", body="**Quokka** pathway with a [numbat](https://example.org) link")
    assert entry.body_text == "Quokka pathway with a numbat link"
    assert _finds("numbat") == {entry.id}
    _save(entry, body="Now about *bilbies* instead")
    assert entry.body_text == "Now about bilbies instead"
    assert _finds("bilbies") == {entry.id} and _finds("numbat") == set()


def test_entries_saved_before_plain_text_was_kept_are_indexed_from_their_markdown(content_app):
    entry = make_entry(title="Old row", body="An _echidna_ survey")
    db.session.execute(db.update(Entry).where(Entry.id == entry.id).values(body_text=None))
    db.session.commit()
    db.session.expire_all()
    consistency.rebuild(backend())
    assert _finds("echidna") == {entry.id}


def test_a_parallel_rebuild_writes_several_segments_and_finds_the_same(content_app, monkeypatch):
    from kb.search import whoosh_backend

    queries = ["care", '"care homes"', "pooled budget", "frail*", "care NOT hospital", "A&E"]
    before = [backend().search(SearchRequest(text=q, readers=(ANYONE,), limit=100)) for q in queries]
    monkeypatch.setattr(whoosh_backend, "SEGMENT_DOCS", 10)
    monkeypatch.setattr(whoosh_backend, "PARALLEL_FROM", 10)
    indexed = backend().rebuild(consistency.all_documents(), procs=2)
    assert indexed == CONTENT_ENTRIES
    searcher = backend()._pool.get()
    assert len(searcher.reader().leaf_readers()) >= 3
    after = [backend().search(SearchRequest(text=q, readers=(ANYONE,), limit=100)) for q in queries]
    for query, old, new in zip(queries, before, after):
        assert new.total == old.total > 0, query
        assert {h.id for h in new.hits} == {h.id for h in old.hits}, query
        assert new.facets == old.facets, query
    assert consistency.check(backend()) == []


def test_an_index_written_by_an_older_version_is_refused_and_rebuilt(content_app):
    from whoosh import formats
    from whoosh import index as whoosh_index

    from kb.search.schema import build_schema

    old_schema = build_schema()
    old_schema["body"].format = formats.Positions()  # the pickled-positions format of earlier versions
    store = backend().store
    path = store.root / "gen-older"
    path.mkdir()
    whoosh_index.create_in(str(path), old_schema)
    backend().close()
    store.swap_in(path)
    check = content_app.test_cli_runner().invoke(args=["kb", "index", "check"])
    assert check.exit_code == 1 and "built by an older version" in check.output
    rebuilt = content_app.test_cli_runner().invoke(args=["kb", "index", "check", "--repair"])
    assert rebuilt.exit_code == 0 and f"Rebuilt the search index with {CONTENT_ENTRIES} entries" in rebuilt.output
    assert _finds("care")


def test_a_rebuild_writes_queued_updates_and_empties_the_queue(content_app):
    entry = db.session.scalar(select(Entry).where(Entry.status == EntryStatus.PUBLISHED, Entry.visibility == Visibility.PUBLIC))
    _break_index(content_app, "missing")
    entry.title = "Okapi hospital discharge"
    record_revision(entry, author=None, now=NOW, summary="saved while the index was missing")
    db.session.commit()
    assert [row.entry_id for row in db.session.scalars(select(IndexQueueItem))] == [entry.id]

    repaired = content_app.test_cli_runner().invoke(args=["kb", "index", "check", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "Rebuilt the search index" in repaired.output
    assert db.session.scalars(select(IndexQueueItem)).all() == []
    assert _finds("okapi") == {entry.id}
    assert consistency.check(backend()) == []


def test_deleting_an_entry_takes_the_links_to_it_away_and_the_linking_entry_still_saves(app):
    target = make_entry("target")
    linking = make_entry("linking", links=[{"rel": "describes", "entry": "target"}])
    db.session.delete(target)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Entry, linking.id).links == []
    _save(db.session.get(Entry, linking.id), title="Still saves")  # its record no longer names the gone entry
    assert consistency.check(backend()) == []
