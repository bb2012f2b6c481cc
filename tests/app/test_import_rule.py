"""The database is the record: import never undoes a change made on the web.

A file is applied only if its entry, site or theme has not been changed on the web since the
file was last imported; otherwise it is reported as a conflict with the ways to resolve it.
Web changes here go through the same services the web pages call.
"""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kb.extensions import db
from kb.models import AuditEvent, Entry, EntryStatus, NetworkRole, Revision, Site, Theme, User, Visibility
from kb.services import authoring, sites, themes, workflow
from kb.services.content_io import import_content
from kb.services.records import entry_record, site_record, theme_record
from tests.conftest import CONTENT_DIR
from tests.factories import make_user

WEB_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
RESTART = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)

ARCHIVED = "sheffield-pooled-budget"
NETWORK = "barnsley-one-umbrella-not-one-organisation"
DRAFT = "camden-days-at-home-evidence"
EDITED = "airedale-wharfedale-craven-telehealth-care-homes"
SITE = "leeds"
THEME = "leadership"


@pytest.fixture
def content(tmp_path) -> Path:
    """A copy of content/ that a test may edit."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    return root


@pytest.fixture
def admin(content_app):
    return make_user("ada@example.nhs.uk", name="Ada", network_role=NetworkRole.ADMIN)


def _entry(slug: str) -> Entry:
    return db.session.scalar(select(Entry).where(Entry.slug == slug))


def _save(user, slug: str, **fields) -> None:
    entry, record = authoring.editable_record(user, slug)
    authoring.save_entry(user, slug, {**record, **fields}, base_version=entry.version, summary="Web edit",
                         minor=False, now=WEB_TIME)


def _web_changes(admin) -> dict[str, object]:
    """What a lead and an admin do on the web: archive, restrict, withdraw, edit, and admin saves."""
    for slug in (ARCHIVED, NETWORK, DRAFT, EDITED):
        entry = _entry(slug)
        assert (entry.status, entry.visibility) == (EntryStatus.PUBLISHED, Visibility.PUBLIC), slug
    workflow.archive_entry(admin, ARCHIVED, now=WEB_TIME)
    _save(admin, NETWORK, visibility="network")
    workflow.return_to_draft(admin, DRAFT, now=WEB_TIME)
    _save(admin, EDITED, summary="A summary rewritten on the web.")
    site_record_now = sites.site_for_editing(admin, SITE)[1]
    sites.save_site(admin, SITE, {**site_record_now, "summary": "Leeds as the admin now describes it."}, now=WEB_TIME)
    theme_record_now = themes.theme_for_editing(admin, THEME)[1]
    themes.save_theme(admin, THEME, {**theme_record_now, "definition": "Leadership, redefined on the web."},
                      now=WEB_TIME)
    return _state()


def _state() -> dict[str, object]:
    db.session.expire_all()
    state: dict[str, object] = {
        f"entries/{slug}": (entry_record(_entry(slug)), _entry(slug).version)
        for slug in (ARCHIVED, NETWORK, DRAFT, EDITED)
    }
    state[f"sites/{SITE}"] = site_record(db.session.scalar(select(Site).where(Site.slug == SITE)))
    state[f"themes/{THEME}"] = theme_record(db.session.scalar(select(Theme).where(Theme.slug == THEME)))
    return state


def _import_events() -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "entry_imported", AuditEvent.created_at >= RESTART)))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_importing_unchanged_files_keeps_every_web_change(content_app, admin, content):
    after_web = _web_changes(admin)
    events_before = db.session.scalar(select(db.func.count(AuditEvent.id)))

    report = import_content(content, now=RESTART)

    assert report.errors == [] and report.conflicts == []
    assert (report.kept["entries"], report.kept["sites"], report.kept["themes"]) == (4, 1, 1)
    assert not report.changed
    assert _state() == after_web
    assert (_entry(ARCHIVED).status, _entry(NETWORK).visibility, _entry(DRAFT).status) == (
        EntryStatus.ARCHIVED, Visibility.NETWORK, EntryStatus.DRAFT)
    assert _entry(EDITED).summary == "A summary rewritten on the web."
    # Nothing was reverted, so nothing was audited.
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == events_before
    anonymous = content_app.test_client()
    assert anonymous.get(f"/entries/{ARCHIVED}").status_code == 404
    assert anonymous.get(f"/entries/{NETWORK}").status_code == 404
    assert anonymous.get(f"/entries/{DRAFT}").status_code == 404


def test_a_changed_file_for_a_row_changed_on_the_web_is_a_conflict_and_not_applied(content_app, admin, content):
    after_web = _web_changes(admin)
    _edit(content / "entries" / f"{ARCHIVED}.md", "title: A £270m", "title: A £270 million")
    _edit(content / "entries" / f"{NETWORK}.md", "status: published", "status: archived")
    _edit(content / "sites" / f"{SITE}.md", "region: North East and Yorkshire", "region: Yorkshire")
    _edit(content / "themes.yml", "  name: Leadership\n", "  name: Leaders\n")

    report = import_content(content, now=RESTART)

    assert report.errors == []
    assert len(report.conflicts) == 4
    # In file order, like errors.
    assert [c.split(": ", 1)[0] for c in report.conflicts] == [
        f"{content / 'entries' / NETWORK}.md:1", f"{content / 'entries' / ARCHIVED}.md:1",
        f"{content / 'sites' / SITE}.md:1", f"{content / 'themes.yml'}:1"]
    assert report.conflicts[3].startswith(f"{content / 'themes.yml'}:1: themes/{THEME} changed on the web since it "
                                          "was imported; the file was not applied.")
    assert f"{content / 'sites' / SITE}.md:1: sites/{SITE} changed on the web" in report.conflicts[2]
    assert report.conflicts[1] == (
        f"{content / 'entries' / ARCHIVED}.md:1: entries/{ARCHIVED} changed on the web since it was imported; "
        f"the file was not applied. To keep the web version, write it into the file: flask --app kb kb export "
        f"{content} --only entries/{ARCHIVED}; to apply the file instead: flask --app kb kb import {content} "
        f"--take-file entries/{ARCHIVED}")
    assert _state() == after_web
    assert _import_events() == []


def test_a_changed_file_for_an_untouched_entry_is_applied_and_its_status_change_audited(content_app, admin, content):
    _web_changes(admin)
    archived_by_file, restricted_by_file = [
        p.stem for p in sorted((content / "entries").glob("*.md"))
        if p.stem not in (ARCHIVED, NETWORK, DRAFT, EDITED) and "status: published\nvisibility: public" in p.read_text()
    ][:2]
    _edit(content / "entries" / f"{archived_by_file}.md", "status: published", "status: archived")
    _edit(content / "entries" / f"{restricted_by_file}.md", "visibility: public", "visibility: network")
    version = _entry(archived_by_file).version

    report = import_content(content, now=RESTART)

    assert report.errors == [] and report.conflicts == []
    assert report.updated["entries"] == 2
    assert _entry(archived_by_file).status == EntryStatus.ARCHIVED
    assert _entry(archived_by_file).version == version + 1
    assert _entry(restricted_by_file).visibility == Visibility.NETWORK
    details = {event.subject: event.detail for event in _import_events()}
    assert details == {
        f"entry:{archived_by_file}": {"imported_from": f"{archived_by_file}.md", "version": version + 1,
                                      "status": "published → archived"},
        f"entry:{restricted_by_file}": {"imported_from": f"{restricted_by_file}.md",
                                        "version": _entry(restricted_by_file).version,
                                        "visibility": "public → network"},
    }
    assert all(event.actor_id is None for event in _import_events())
    assert content_app.test_client().get(f"/entries/{archived_by_file}").status_code == 404
    # The same files again: nothing more happens.
    again = import_content(content, now=RESTART)
    assert not again.changed and again.conflicts == [] and len(_import_events()) == 2


def test_a_changed_site_or_theme_file_is_applied_when_nobody_edited_it_on_the_web(content_app, content):
    _edit(content / "sites" / "sheffield.md", "population: 566,900 registered with GP practices (2012)",
          "population: about 580,000")
    _edit(content / "themes.yml", "  name: Leadership\n", "  name: Leaders\n")

    report = import_content(content, now=RESTART)

    assert report.errors == []
    assert (report.updated["sites"], report.updated["themes"], report.conflicts) == (1, 1, [])
    assert db.session.scalar(select(Site.population).where(Site.slug == "sheffield")) == "about 580,000"
    assert db.session.scalar(select(Theme.name).where(Theme.slug == THEME)) == "Leaders"
    saved = {e.subject: e.detail for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["site_saved", "theme_saved"])))}
    assert saved["site:sheffield"]["changed"] == ["population"]
    assert saved[f"theme:{THEME}"]["changed"] == ["name"]


def test_take_file_applies_the_file_over_the_web_change_and_keeps_the_web_version_in_history(
        content_app, admin, content):
    _web_changes(admin)
    _edit(content / "entries" / f"{ARCHIVED}.md", "title: A £270m", "title: A £270 million")
    runner = content_app.test_cli_runner()

    refused = runner.invoke(args=["kb", "import", str(content)])
    assert refused.exit_code == 1
    assert f"entries/{ARCHIVED} changed on the web since it was imported" in refused.output
    db.session.expire_all()
    assert _entry(ARCHIVED).status == EntryStatus.ARCHIVED

    taken = runner.invoke(args=["kb", "import", str(content), "--take-file", f"entries/{ARCHIVED}"])

    # The other web changes stand without a conflict: their files have not changed.
    assert taken.exit_code == 0, taken.output
    db.session.expire_all()
    entry = _entry(ARCHIVED)
    assert (entry.status, entry.title[:15]) == (EntryStatus.PUBLISHED, "A £270 million ")
    summaries = list(db.session.scalars(
        select(Revision.summary).where(Revision.entry_id == entry.id).order_by(Revision.number)))
    assert summaries[-2:] == ["Archived", f"Imported from {ARCHIVED}.md"]
    events = [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "entry_imported"))
              if e.subject == f"entry:{ARCHIVED}"]
    assert [e.detail["status"] for e in events] == ["published", "archived → published"]  # created, then taken
    assert events[0].detail["created"] is True and "created" not in events[1].detail
    assert _entry(NETWORK).visibility == Visibility.NETWORK  # only the file named was taken
    assert runner.invoke(args=["kb", "import", str(content)]).exit_code == 0


def test_export_only_writes_the_web_version_into_the_file_which_then_imports_cleanly(content_app, admin, content):
    _web_changes(admin)
    _edit(content / "entries" / f"{EDITED}.md", "status: published", "status: in_review")
    other_file = (content / "entries" / f"{ARCHIVED}.md").read_bytes()
    runner = content_app.test_cli_runner()
    assert runner.invoke(args=["kb", "import", str(content)]).exit_code == 1

    exported = runner.invoke(args=["kb", "export", str(content), "--only", f"entries/{EDITED}"])

    assert exported.exit_code == 0, exported.output
    assert "0 themes, 0 sites and 1 entries" in exported.output
    assert "summary: A summary rewritten on the web." in (content / "entries" / f"{EDITED}.md").read_text()
    assert (content / "entries" / f"{ARCHIVED}.md").read_bytes() == other_file
    result = runner.invoke(args=["kb", "import", str(content)])
    assert result.exit_code == 0, result.output
    # The exported file is now what the entry was last imported as: a later edit of it applies.
    _edit(content / "entries" / f"{EDITED}.md", "summary: A summary rewritten", "summary: A summary re-rewritten")
    assert runner.invoke(args=["kb", "import", str(content)]).exit_code == 0
    db.session.expire_all()
    assert _entry(EDITED).summary == "A summary re-rewritten on the web."


def test_export_only_one_theme_keeps_the_other_themes_as_the_file_has_them(content_app, admin, content):
    _web_changes(admin)
    _edit(content / "themes.yml", "  name: Data sharing\n", "  name: Sharing data\n")  # not imported yet

    result = content_app.test_cli_runner().invoke(args=["kb", "export", str(content), "--only", f"themes/{THEME}"])

    assert result.exit_code == 0, result.output
    text = (content / "themes.yml").read_text(encoding="utf-8")
    assert "Leadership, redefined on the web." in text and "name: Sharing data" in text
    report = import_content(content, now=RESTART)
    assert report.conflicts == [] and report.updated["themes"] == 1
    assert db.session.scalar(select(Theme.name).where(Theme.slug == "data-sharing")) == "Sharing data"


def test_an_entry_created_on_the_web_is_never_touched_by_import(content_app, admin, content):
    record = {**entry_record(_entry(EDITED)), "title": "Made on the web", "summary": "Only in the database."}
    created = authoring.create_entry(admin, record, slug="made-on-the-web", summary="New", minor=False,
                                     now=WEB_TIME).entry
    before = (entry_record(created), created.version)

    assert import_content(content, now=RESTART).conflicts == []
    db.session.expire_all()
    assert (entry_record(_entry("made-on-the-web")), _entry("made-on-the-web").version) == before

    # A file that happens to take its slug is a conflict, not an overwrite.
    shutil.copy(content / "entries" / f"{EDITED}.md", content / "entries" / "made-on-the-web.md")
    report = import_content(content, now=RESTART)
    assert [c.split(": ", 1)[1].split(";")[0] for c in report.conflicts] == [
        "entries/made-on-the-web exists in the database but was never imported from this file (it was created "
        "or saved on the web)"]
    db.session.expire_all()
    assert (entry_record(_entry("made-on-the-web")), _entry("made-on-the-web").version) == before


def test_rows_imported_before_the_rule_existed_get_a_safe_baseline(content_app, admin, content):
    """After migration 0006 existing rows have no digest: what the web changed still stands."""
    after_web = _web_changes(admin)
    for model in (Entry, Site, Theme):
        db.session.execute(update(model).values(imported_digest=None))
    db.session.commit()
    _edit(content / "entries" / f"{ARCHIVED}.md", "title: A £270m", "title: A £270 million")  # web-archived
    _edit(content / "sites" / "sheffield.md", "population: 566,900 registered with GP practices (2012)",
          "population: about 580,000")
    _edit(content / "sites" / f"{SITE}.md", "region: North East and Yorkshire", "region: Yorkshire")

    report = import_content(content, now=RESTART)

    assert report.errors == []
    # Entries: the last "Imported from" revision is the baseline, so an untouched file keeps the web
    # change and a changed one conflicts. Sites and themes have no history: one never saved on the
    # web takes its file; one an admin saved is a conflict whenever its file differs (changed or
    # not), rather than a guess.
    conflicts = sorted(c.split(": ", 1)[1].split(" ", 1)[0] for c in report.conflicts)
    assert conflicts == [f"entries/{ARCHIVED}", f"sites/{SITE}", f"themes/{THEME}"]
    assert "was never imported from this file" in report.conflicts[-1]
    assert report.kept["entries"] == 3
    assert _state() == after_web
    assert db.session.scalar(select(Site.population).where(Site.slug == "sheffield")) == "about 580,000"
    # Every row now has its baseline, so the next import needs no history.
    assert db.session.scalar(select(db.func.count(Entry.id)).where(Entry.imported_digest.is_(None))) == 0
    again = import_content(content, now=RESTART)
    assert again.kept["entries"] == 3 and len(again.conflicts) == 3


def test_naming_files_wrongly_is_a_clear_message_and_changes_nothing(content_app, content):
    runner = content_app.test_cli_runner()

    bad_syntax = runner.invoke(args=["kb", "import", str(content), "--take-file", "../etc/passwd"])
    unknown = runner.invoke(args=["kb", "import", str(content), "--take-file", "entries/no-such-entry"])
    not_in_database = runner.invoke(args=["kb", "export", str(content), "--only", "sites/atlantis"])

    assert bad_syntax.exit_code == 2
    assert "'../etc/passwd': name a file as entries/<slug>, sites/<slug> or themes/<slug>" in bad_syntax.output
    assert unknown.exit_code == 1
    assert f"--take-file entries/no-such-entry: there is no valid file for it under {content}" in unknown.output
    assert not_in_database.exit_code == 1
    assert "sites/atlantis: there is no such site in the database" in not_in_database.output
    assert not (content / "sites" / "atlantis.md").exists()


def test_a_web_save_racing_the_import_is_kept_and_the_file_becomes_a_conflict(content_app, admin, content):
    """The import decided to apply a changed file; a lead saves the entry on the web before the
    import writes it. The import must not write over the save: it starts again and reports a conflict."""
    _edit(content / "entries" / f"{EDITED}.md", "Airedale NHS Foundation Trust has run",
          "Airedale NHS Foundation Trust (the file's version) has run")
    saved, admin_id = threading.Event(), admin.id

    def web_save_in_the_middle(items, label):
        if label == "Importing entries" and not saved.is_set():
            def lead_saves():  # another request, on its own connection, commits first
                with content_app.app_context():
                    _save(db.session.get(User, admin_id), EDITED, summary="Saved on the web mid-import.")
                    db.session.remove()
            worker = threading.Thread(target=lead_saves)
            worker.start()
            worker.join(timeout=120)
            saved.set()
        return items

    report = import_content(content, now=RESTART, progress=web_save_in_the_middle)

    assert saved.is_set() and report.errors == []
    assert len(report.conflicts) == 1 and f"entries/{EDITED} changed on the web" in report.conflicts[0]
    db.session.expire_all()
    assert _entry(EDITED).summary == "Saved on the web mid-import."
    assert "the file's version" not in _entry(EDITED).summary
