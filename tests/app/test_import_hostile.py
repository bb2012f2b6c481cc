"""Import that reports instead of crashing: every typo or trick in a content file becomes
``path:line: message``, and the valid files beside it are still imported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, Site, Source
from kb.services.content_io import import_content
from kb.services.content_io.frontmatter import MAX_FILE_BYTES
from tests.app.test_content_io import ENTRY, _minimal_content, _write_entry
from tests.conftest import NOW


def _entry_with(root: Path, slug: str, line: str, replacing: str) -> Path:
    """An otherwise valid entry file whose line ``replacing`` is swapped for ``line``."""
    path = _write_entry(root, slug)
    text = path.read_text(encoding="utf-8")
    assert replacing in text
    path.write_text(text.replace(replacing, line), encoding="utf-8")
    return path


# (what replaces a line of the valid entry, which line it replaces, the line reported, the message)
HOSTILE_LINES = [
    ("summary: !!int 'abc'", "summary: A summary.", 6, "summary: 'abc' is not a whole number"),
    ("summary: !!float 'abc'", "summary: A summary.", 6, "summary: 'abc' is not a number"),
    ("summary: !!bool 'maybe'", "summary: A summary.", 6, "summary: 'maybe' is not true or false"),
    ("published: !!timestamp 'abc'", "published: 2015-01-01", 5,
     "published: 'abc' is not a valid date (write dates as YYYY-MM-DD)"),
    ("published: 2015-02-30", "published: 2015-01-01", 5,
     "published: '2015-02-30' is not a valid date (day is out of range for month)"),
    ("published: 2015-13-45", "published: 2015-01-01", 5,
     "published: '2015-13-45' is not a valid date (month must be in 1..12)"),
    ("published: 2015-01-01 25:00:00", "published: 2015-01-01", 5,
     "published: '2015-01-01 25:00:00' is not a valid date (hour must be in 0..23)"),
    ("  - {title: A source, date: 2015-02-30}", "  - {title: A source}", 10,
     "date: '2015-02-30' is not a valid date (day is out of range for month)"),
    ("summary: A summary.\ntitle: A second title", "summary: A summary.", 7,
     "duplicate key 'title': it is already given on line 2"),
    ("  - {theme: leadership, theme: leadership, polarity: enabler, note: x}",
     "  - {theme: leadership, polarity: enabler, note: Because.}", 8,
     "duplicate key 'theme': it is already given on line 8"),
    ('summary: A summary.\n"{0}": 1\n"{0}": 2', "summary: A summary.", 8,
     "duplicate key '{0}': it is already given on line 7"),
    ("<<: {summary: Merged in}", "summary: A summary.", 6, "YAML merge keys (<<) are not allowed"),
    ("summary: !!int '" + "9" * 5000 + "'", "summary: A summary.", 6, "is not a whole number"),
    ("lead: !!set {a, b}", "summary: A summary.", 6, "invalid YAML: the tag !!set is not allowed in content files"),
    ("summary: !!binary aGk=", "summary: A summary.", 6, "invalid YAML: the tag !!binary is not allowed"),
    # Escapes put in a one-line field what the file itself may not hold (kb.textcheck's rule).
    ('summary: "Two\\u2028lines"', "summary: A summary.", 6, "summary: must be one line of text without control characters"),
    ('summary: "A C1 control \\x85 here"', "summary: A summary.", 6,
     "summary: must be one line of text without control characters"),
    ("summary: A bell\x07 rings", "summary: A summary.", 6, "file contains the control character U+0007; remove it"),
]


@pytest.mark.parametrize("line, replacing, reported, message", HOSTILE_LINES,
                         ids=[case[0][:30] for case in HOSTILE_LINES])
def test_a_bad_value_is_reported_at_its_line_and_the_valid_files_still_import(app, tmp_path, line, replacing,
                                                                                reported, message):
    root = _minimal_content(tmp_path / "c")
    _write_entry(root, "a-valid-one", title="Valid before")
    bad = _entry_with(root, "bad-one", line, replacing)
    _write_entry(root, "z-valid-one", title="Valid after")

    report = import_content(root, now=NOW)

    assert len(report.errors) == 1, report.errors
    assert report.errors[0].startswith(f"{bad}:{reported}: ")
    assert message in report.errors[0]
    assert set(db.session.scalars(select(Entry.slug))) == {"a-valid-one", "z-valid-one"}
    assert report.created == {"themes": 1, "sites": 1, "entries": 2}


def test_every_hostile_case_at_once_still_imports_the_valid_files(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    bad = [_entry_with(root, f"bad-{i}", line, replacing) for i, (line, replacing, _, _) in enumerate(HOSTILE_LINES)]
    _write_entry(root, "valid-one", title="Still here")

    report = import_content(root, now=NOW)

    assert sorted(error.split(":", 2)[0] for error in report.errors) == sorted(str(path) for path in bad)
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}
    # Nothing of any bad file was written: no stray sources or sites.
    assert db.session.scalar(select(func.count(Source.id))) == 1


def test_a_site_file_with_a_bad_value_is_reported_and_the_other_sites_import(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    bad = root / "sites" / "badshire.md"
    bad.write_text("---\nname: Badshire\nkind: pioneer\nwave: !!int 'two'\nregion: London\nsummary: S.\n---\n",
                   encoding="utf-8")

    report = import_content(root, now=NOW)

    assert report.errors == [f"{bad}:4: wave: 'two' is not a whole number"]
    assert set(db.session.scalars(select(Site.slug))) == {"testshire"}


def test_a_bad_value_in_themes_yml_is_reported_and_the_rest_imports(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    themes = root / "themes.yml"
    themes.write_text(themes.read_text(encoding="utf-8") + "- slug: dated\n  name: !!timestamp 'soon'\n"
                      "  group: G\n  definition: D.\n", encoding="utf-8")
    _write_entry(root, "no-theme-to-tag")

    report = import_content(root, now=NOW)

    # A broken themes.yml writes no theme, so the entry tagging one of its themes fails too.
    assert report.errors == [
        f"{root / 'entries' / 'no-theme-to-tag.md'}:8: themes.0.theme: there is no theme 'leadership'",
        f"{themes}:6: name: 'soon' is not a valid date (write dates as YYYY-MM-DD)",
    ]
    assert set(db.session.scalars(select(Site.slug))) == {"testshire"}


def test_a_symlink_to_a_file_outside_the_folder_is_refused(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    secret = tmp_path / "secret.md"
    secret.write_text(ENTRY.format(title="Leaked", polarity="enabler", extra=""), encoding="utf-8")
    link = root / "entries" / "leak.md"
    link.symlink_to(secret)
    etc = root / "sites" / "passwd.md"
    etc.symlink_to("/etc/passwd")
    _write_entry(root, "valid-one")

    report = import_content(root, now=NOW)

    assert report.errors == [
        f"{link}:1: resolves to {secret.resolve()}, outside {root}: refused (content files must live inside "
        "the folder being imported)",
        f"{etc}:1: resolves to {Path('/etc/passwd').resolve()}, outside {root}: refused (content files must "
        "live inside the folder being imported)",
    ]
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}
    assert db.session.scalar(select(Entry.id).where(Entry.title == "Leaked")) is None


def test_a_symlinked_folder_leading_outside_is_refused(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "sneaky.md").write_text(ENTRY.format(title="Sneaky", polarity="enabler", extra=""), encoding="utf-8")
    (root / "entries").rmdir()
    (root / "entries").symlink_to(outside, target_is_directory=True)

    report = import_content(root, now=NOW)

    assert report.errors == [f"{root / 'entries'}:1: resolves to {outside.resolve()}, outside {root}: refused"]
    assert db.session.scalar(select(func.count(Entry.id))) == 0
    assert set(db.session.scalars(select(Site.slug))) == {"testshire"}


def test_a_symlink_inside_the_folder_is_followed(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    original = _write_entry(root, "original", title="Shared text")
    (root / "entries" / "alias.md").symlink_to(original)

    report = import_content(root, now=NOW)

    assert report.errors == []
    assert set(db.session.scalars(select(Entry.slug))) == {"alias", "original"}


def test_broken_links_fifos_and_huge_files_are_refused_without_reading_them(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    dangling = root / "entries" / "dangling.md"
    dangling.symlink_to(root / "nowhere.md")
    fifo = root / "entries" / "fifo.md"
    os.mkfifo(fifo)  # reading it would block the import for ever
    huge = root / "entries" / "huge.md"
    with huge.open("wb") as file:  # sparse: the size says 2 GB, and reading it would take a while
        file.truncate(2_000_000_000)
    _write_entry(root, "valid-one")

    report = import_content(root, now=NOW)

    assert report.errors == [
        f"{dangling}:1: cannot be read: it is a broken or looping symbolic link",
        f"{fifo}:1: is not a regular file: refused",
        f"{huge}:1: file is larger than {MAX_FILE_BYTES:,} bytes",
    ]
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}


def test_the_cli_lists_every_problem_imports_the_rest_and_exits_non_zero(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    bad = _entry_with(root, "bad-date", "published: 2015-02-30", "published: 2015-01-01")
    _write_entry(root, "valid-one")

    result = app.test_cli_runner().invoke(args=["kb", "import", str(root)])

    assert result.exit_code == 1
    assert f"{bad}:5: published: '2015-02-30' is not a valid date (day is out of range for month)" in result.output
    assert "Traceback" not in result.output
    assert "entries: 1 created" in result.output
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}


def test_exit_zero_lists_the_problems_but_succeeds_for_make_run(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    bad = _entry_with(root, "bad-int", "summary: !!int 'abc'", "summary: A summary.")
    _write_entry(root, "valid-one")

    result = app.test_cli_runner().invoke(args=["kb", "import", "--exit-zero", str(root)])

    assert result.exit_code == 0
    assert f"{bad}:6: summary: 'abc' is not a whole number" in result.output
    assert "1 file(s) with errors" in result.output
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}


def test_a_website_longer_than_its_column_is_reported_instead_of_failing_the_whole_import(app, tmp_path):
    root = _minimal_content(tmp_path / "c")
    long_site = root / "sites" / "longshire.md"
    long_site.write_text("---\nname: Longshire\nkind: pioneer\nwave: 1\nregion: London\n"
                         f"website: https://example.org/{'a' * 600}\nsummary: S.\n---\n", encoding="utf-8")
    _write_entry(root, "valid-one")

    report = import_content(root, now=NOW)

    assert report.errors == [f"{long_site}:6: website: string should have at most 500 characters"]
    assert set(db.session.scalars(select(Site.slug))) == {"testshire"}
    assert set(db.session.scalars(select(Entry.slug))) == {"valid-one"}
