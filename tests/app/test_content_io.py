"""Import and export of content/: the real content, idempotence, errors, and the round trip."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from select import select as wait_until_readable

import pytest
from sqlalchemy import func, select

from kb.config import PROJECT_ROOT
from kb.extensions import db
from kb.markdown import to_plain_text
from kb.models import AuditEvent, Entry, EntryType, Provenance, Revision, Site, SiteKind, Theme, ThemeTag
from kb.models.entries import offer_body_text
from kb.search import backend
from kb.search.documents import stamp_for
from kb.search.indexing import queued
from kb.services.content_io import export_content, import_content, importer, reading
from kb.services.records import entry_record
from tests.conftest import CONTENT_DIR, NOW


def test_real_content_has_every_pioneer_and_enough_themes_and_entries(content_app):
    sites = list(db.session.scalars(select(Site)))
    pioneers = [s for s in sites if s.kind == SiteKind.PIONEER]
    assert len([s for s in pioneers if s.wave == 1]) == 14
    assert len([s for s in pioneers if s.wave == 2]) == 11
    assert {"central-bedfordshire", "canterbury-nz"} <= {s.slug for s in sites if s.kind != SiteKind.PIONEER}
    assert all(s.profile.strip() and s.summary for s in sites)

    themes = list(db.session.scalars(select(Theme)))
    assert len(themes) >= 25
    assert {"leadership", "relationships-trust", "information-governance", "data-sharing"} <= {t.slug for t in themes}
    assert len({t.group for t in themes}) >= 5 and all(t.definition for t in themes)

    entries = list(db.session.scalars(select(Entry)))
    assert len(entries) >= 45
    for entry_type in EntryType:
        assert len([e for e in entries if e.type == entry_type]) >= 12, entry_type
    for entry in entries:
        assert entry.theme_tags and all(tag.note for tag in entry.theme_tags), entry.slug
        assert entry.sources, entry.slug
        if entry.type == EntryType.EVIDENCE:
            assert entry.evidence_design and entry.evidence_strength and entry.evidence_provenance, entry.slug
            assert entry.outcomes and all(o.value for o in entry.outcomes), entry.slug
    assert any(e.evidence_provenance == Provenance.SELF_REPORTED for e in entries)


def test_every_imported_entry_has_one_revision_matching_its_version(content_app):
    entries = list(db.session.scalars(select(Entry)))
    assert all(e.version == 1 for e in entries)
    assert db.session.scalar(select(func.count(Revision.id))) == len(entries)


def test_importing_the_same_files_again_changes_nothing(content_app):
    before = {e.slug: (e.version, e.modified_at) for e in db.session.scalars(select(Entry))}
    revisions = db.session.scalar(select(func.count(Revision.id)))

    report = import_content(CONTENT_DIR, now=NOW)

    assert report.errors == [] and not report.changed
    assert report.unchanged["entries"] == len(before)
    db.session.expire_all()
    assert {e.slug: (e.version, e.modified_at) for e in db.session.scalars(select(Entry))} == before
    assert db.session.scalar(select(func.count(Revision.id))) == revisions


def test_a_changed_file_updates_its_entry_and_adds_a_revision(content_app, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "entries" / "sheffield-pooled-budget.md"
    path.write_text(path.read_text().replace("title: A £270m", "title: A £270 million"), encoding="utf-8")

    report = import_content(content, now=NOW)

    assert report.updated["entries"] == 1 and report.unchanged["entries"] >= 44
    entry = db.session.scalar(select(Entry).where(Entry.slug == "sheffield-pooled-budget"))
    assert entry.title.startswith("A £270 million")
    assert entry.version == 2
    assert [r.number for r in db.session.scalars(select(Revision).where(Revision.entry_id == entry.id))] == [1, 2]


def _minimal_content(root: Path) -> Path:
    (root / "sites").mkdir(parents=True)
    (root / "entries").mkdir()
    (root / "themes.yml").write_text(
        "- slug: leadership\n  name: Leadership\n  group: People\n  definition: Leaders.\n", encoding="utf-8"
    )
    (root / "sites" / "testshire.md").write_text(
        "---\nname: Testshire\nkind: pioneer\nwave: 1\nregion: London\nsummary: A site.\n---\nProfile.\n",
        encoding="utf-8",
    )
    return root


ENTRY = """---
title: {title}
type: case_study
site: testshire
published: 2015-01-01
summary: A summary.
themes:
  - {{theme: leadership, polarity: {polarity}, note: Because.}}
sources:
  - {{title: A source}}
{extra}---
Body.
"""


def _write_entry(root: Path, slug: str, title: str = "T", polarity: str = "enabler", extra: str = "") -> Path:
    path = root / "entries" / f"{slug}.md"
    path.write_text(ENTRY.format(title=title, polarity=polarity, extra=extra), encoding="utf-8")
    return path


def test_a_broken_file_is_reported_by_path_and_line_and_nothing_of_it_is_written(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    _write_entry(root, "good-one")
    broken = _write_entry(root, "broken-one", polarity="sideways")

    report = import_content(root, now=NOW)

    assert report.errors == [f"{broken}:8: themes.0.polarity: must be 'enabler' or 'barrier'"]
    slugs = set(db.session.scalars(select(Entry.slug)))
    assert slugs == {"good-one"}
    assert report.created == {"themes": 1, "sites": 1, "entries": 1}


def test_every_problem_in_a_file_is_reported(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    path = _write_entry(root, "many-problems", extra="colour: blue\nstrength: 9\n")
    path.write_text(path.read_text().replace("type: case_study", "type: opinion"), encoding="utf-8")

    report = import_content(root, now=NOW)

    assert report.errors == [
        f"{path}:3: type: must be 'case_study', 'intervention' or 'evidence'",
        f"{path}:11: colour: is not a known field",
        f"{path}:12: strength: is not a known field",
    ]


def test_unknown_references_are_reported_at_their_lines(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    path = _write_entry(root, "bad-refs", extra="links:\n  - {rel: describes, entry: nowhere}\n")
    path.write_text(path.read_text().replace("theme: leadership", "theme: astrology").replace("site: testshire", "site: atlantis"), encoding="utf-8")

    report = import_content(root, now=NOW)

    assert report.errors == [
        f"{path}:4: site: there is no site 'atlantis'",
        f"{path}:8: themes.0.theme: there is no theme 'astrology'",
        f"{path}:12: links.0.entry: there is no entry 'nowhere'",
    ]
    assert db.session.scalar(select(func.count(Entry.id))) == 0


def test_an_entry_linking_to_a_broken_file_is_not_written_either(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    _write_entry(root, "target", polarity="up")
    linker = _write_entry(root, "linker", extra="links:\n  - {rel: evaluates, entry: target}\n")

    report = import_content(root, now=NOW)

    assert f"{linker}:12: links.0.entry: there is no entry 'target'" in report.errors
    assert db.session.scalar(select(func.count(Entry.id))) == 0


def test_entries_can_link_to_each_other_within_one_import(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    _write_entry(root, "a-entry", extra="links:\n  - {rel: describes, entry: b-entry}\n")
    _write_entry(root, "b-entry", extra="links:\n  - {rel: evaluates, entry: a-entry}\n")

    assert import_content(root, now=NOW).errors == []
    a = db.session.scalar(select(Entry).where(Entry.slug == "a-entry"))
    assert [(link.rel.value, link.to_entry.slug) for link in a.links] == [("describes", "b-entry")]
    assert a.version == 1


def test_a_broken_edit_leaves_the_existing_entry_as_it_was(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    _write_entry(root, "stable", title="Original")
    import_content(root, now=NOW)
    _write_entry(root, "stable", title="Changed", polarity="wrong")

    report = import_content(root, now=NOW)

    assert len(report.errors) == 1
    db.session.expire_all()
    entry = db.session.scalar(select(Entry).where(Entry.slug == "stable"))
    assert (entry.title, entry.version) == ("Original", 1)


@pytest.mark.parametrize("workers", [0, 2], ids=["read-here", "read-by-workers"])
def test_hostile_files_are_refused_with_a_message(app, tmp_path, workers):
    root = _minimal_content(tmp_path / "c")
    (root / "entries" / "Bad Name.md").write_text("---\n---\n", encoding="utf-8")
    (root / "entries" / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    (root / "entries" / "no-front-matter.md").write_text("Just text\n", encoding="utf-8")
    (root / "entries" / "bomb.md").write_text("---\na: &a [x]\nb: [*a, *a]\n---\n", encoding="utf-8")
    (root / "entries" / "list.md").write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    (root / "entries" / "python-tag.md").write_text("---\ntitle: !!python/name:os.system\n---\n", encoding="utf-8")
    (root / "entries" / "new.md").write_text("---\ntitle: Hidden behind /entries/new\n---\n", encoding="utf-8")

    report = import_content(root, now=NOW, workers=workers)

    messages = "\n".join(report.errors)
    assert "Bad Name.md:1: file name must be a slug" in messages
    assert "binary.md:1: file is not valid UTF-8" in messages
    assert "no-front-matter.md:1: file must start with a '---' line" in messages
    assert "bomb.md:2: YAML anchors and aliases (&, *) are not allowed" in messages
    assert "list.md:2: front matter must be a set of 'key: value' lines" in messages
    assert "python-tag.md:2: invalid YAML" in messages
    assert "new.md:1: file name 'new' is reserved for the site's own pages" in messages
    assert db.session.scalar(select(func.count(Entry.id))) == 0


def test_a_broken_themes_file_writes_no_themes(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    (root / "themes.yml").write_text(
        "- slug: ok\n  name: OK\n  group: G\n  definition: D.\n- slug: Not OK\n  name: X\n  group: G\n  definition: D.\n",
        encoding="utf-8",
    )
    report = import_content(root, now=NOW)
    assert report.errors[0] == f"{root / 'themes.yml'}:5: theme 2: slug: must be a slug (lowercase letters, digits and single hyphens)"
    assert db.session.scalar(select(func.count(Theme.id))) == 0


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_then_import_then_export_is_byte_identical(content_app, tmp_path):
    first = tmp_path / "first"
    report = export_content(first)
    assert (report.sites, report.themes) == (28, db.session.scalar(select(func.count(Theme.id))))

    db.session.query(Revision).delete()
    for model in (Entry, Site, Theme):
        for row in db.session.scalars(select(model)):
            db.session.delete(row)
    db.session.commit()
    assert import_content(first, now=NOW).errors == []
    second = tmp_path / "second"
    export_content(second)

    assert _files(first) == _files(second)
    assert len(_files(first)) == 1 + report.sites + report.entries


def test_export_writes_drafts_and_network_entries_too(content_app, tmp_path):
    export_content(tmp_path)
    assert "visibility: network" in (tmp_path / "entries" / "sheffield-lessons-commissioning-together.md").read_text()


def test_cli_import_reports_errors_and_exits_non_zero(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    broken = _write_entry(root, "broken", polarity="sideways")
    result = app.test_cli_runner().invoke(args=["kb", "import", str(root)])
    assert result.exit_code == 1
    assert f"{broken}:8: themes.0.polarity: must be 'enabler' or 'barrier'" in result.output
    assert "entries: 0 created" in result.output


def test_cli_export_and_import_round_trip(content_app, tmp_path):
    runner = content_app.test_cli_runner()
    result = runner.invoke(args=["kb", "export", str(tmp_path / "out")])
    assert result.exit_code == 0 and "28 sites" in result.output
    result = runner.invoke(args=["kb", "import", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "entries: 0 created, 0 updated" in result.output


# --- large imports: files read by worker processes, new entries written in batches ------------


def test_files_read_and_converted_by_worker_processes_import_as_they_would_in_process(app):
    report = import_content(CONTENT_DIR, now=NOW, workers=2)

    assert report.errors == [] and report.created["entries"] >= 45
    entries = db.session.scalars(select(Entry)).all()
    for entry in entries:
        assert entry.body_text == to_plain_text(entry.body), entry.slug
        revisions = db.session.scalars(select(Revision).where(Revision.entry_id == entry.id)).all()
        assert [(r.number, r.snapshot, r.author_id) for r in revisions] == [(1, entry_record(entry), None)]
        assert entry.version == 1 and entry.modified_at.replace(tzinfo=None) == NOW.replace(tzinfo=None) and entry.created_at is not None
        assert entry.imported_digest
    # New entries' rows are inserted without ORM objects: their index updates are queued all the
    # same, and written once the import has committed.
    assert queued() == 0
    assert backend().stamps() == {e.id: stamp_for(e.version, e.status.value, e.visibility.value) for e in entries}
    # Read again in this process, every file is found equal to what the workers' import wrote.
    again = import_content(CONTENT_DIR, now=NOW, workers=0)
    assert not again.changed and again.unchanged["entries"] == report.created["entries"]


BATCH_ENTRY = """---
title: Entry {n}
type: case_study
site: testshire
published: 2015-01-01
summary: Entry number {n}.
themes:
  - {{theme: leadership, polarity: {polarity}, note: Because.}}
sources:
  - {{title: A source}}
{links}---
## Entry {n}

A *short* body with [a link](https://example.org/{n}) and a list:

* one
* two
"""


def _batch_entry(root: Path, n: int, polarity: str = "enabler", links: tuple[str, ...] = ()) -> Path:
    path = root / "entries" / f"entry-{n:03d}.md"
    lines = "".join(f"  - {{rel: describes, entry: {slug}}}\n" for slug in links)
    path.write_text(BATCH_ENTRY.format(n=n, polarity=polarity, links=f"links:\n{lines}" if links else ""),
                    encoding="utf-8")
    return path


def test_a_bad_file_in_the_middle_of_a_batch_is_skipped_and_the_rest_of_the_batch_imported(app, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "FLUSH_BATCH", 4)  # several batches of new entries, not one
    root = _minimal_content(tmp_path / "c")
    paths = {n: _batch_entry(root, n, links=("entry-000",) if n else ("entry-014",)) for n in range(15)}
    broken = _batch_entry(root, 7, polarity="sideways")
    linker = _batch_entry(root, 8, links=("entry-007",))
    paths[11].write_bytes(paths[11].read_bytes().replace(b"short", b"sh\xffort"))

    report = import_content(root, now=NOW, workers=2)

    assert report.errors == [
        f"{broken}:8: themes.0.polarity: must be 'enabler' or 'barrier'",
        f"{linker}:12: links.0.entry: there is no entry 'entry-007'",
        f"{paths[11]}:16: file is not valid UTF-8",
    ]
    imported = {e.slug: e for e in db.session.scalars(select(Entry))}
    assert sorted(imported) == [f"entry-{n:03d}" for n in range(15) if n not in (7, 8, 11)]
    assert report.created["entries"] == 12
    for entry in imported.values():
        target = "entry-014" if entry.slug == "entry-000" else "entry-000"
        assert [(link.rel.value, link.to_entry.slug) for link in entry.links] == [("describes", target)]
        assert entry.body_text.startswith(f"Entry {entry.slug[-3:].lstrip('0') or '0'} A short body with a link")
        revisions = db.session.scalars(select(Revision).where(Revision.entry_id == entry.id)).all()
        assert [(r.number, r.snapshot) for r in revisions] == [(1, entry_record(entry))]
    # Nothing of the refused files was written, not even their tags.
    assert db.session.scalar(select(func.count(ThemeTag.id))) == 12
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "entry_imported")) == 12


def test_an_import_killed_while_writing_leaves_no_half_imported_file(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    count = reading.PARALLEL_FROM + 100  # read by worker processes, as a large import is
    for n in range(count):
        _batch_entry(root, n, links=(f"entry-{n - 1:03d}",) if n else ())
    env = {**os.environ, "KB_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "KB_INSTANCE_PATH": app.config["KB_INSTANCE_PATH"], "KB_INDEX_DIR": str(app.config["KB_INDEX_DIR"])}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "kb", "kb", "import", str(root)],
                               env=env, cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        _wait_for_line(process, "Importing entries", deadline=time.monotonic() + 300)
        os.killpg(process.pid, signal.SIGKILL)  # the importer and its worker processes
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL  # killed, not finished

    db.session.expire_all()
    present = db.session.scalars(select(Entry)).all()
    for entry in present:  # any entry there is whole: fields, tags, links and its revision
        assert entry.theme_tags and (entry.links or entry.slug == "entry-000"), entry.slug
        assert db.session.scalar(select(Revision.snapshot).where(Revision.entry_id == entry.id)) == entry_record(entry)
    assert db.session.scalar(select(func.count(ThemeTag.id))) == len(present)

    report = import_content(root, now=NOW)

    assert report.errors == [] and report.created["entries"] == count - len(present)
    assert db.session.scalar(select(func.count(Revision.id))) == count


def _wait_for_line(process: subprocess.Popen, text: str, *, deadline: float) -> None:
    """Read the process's stderr until a line contains ``text``."""
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = wait_until_readable([process.stderr], [], [], 1.0)
        if ready:
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
            if text in line:
                return
    raise AssertionError(f"{text!r} never came; the process wrote: {''.join(seen)[-2000:]}")


def test_plain_text_offered_to_an_entry_is_taken_only_for_the_very_body_it_was_made_from():
    entry = Entry()
    offer_body_text(entry, "**Bold** words", "offered text")
    entry.body = "**Other** words"
    assert entry.body_text == "Other words"  # not the offer: converted from the body set

    offer_body_text(entry, "**Bold** words", "Bold words (derived elsewhere)")
    entry.body = "**Bold** words"
    assert entry.body_text == "Bold words (derived elsewhere)"
    entry.body = "**Bold** words"  # an offer is used once
    assert entry.body_text == "Bold words"
