"""Reading content files: front matter, bodies, and errors that point at the right line."""

from __future__ import annotations

import pytest

from kb.services.content_io.frontmatter import ContentFileError, parse_yaml, read_text, split


def test_split_returns_front_matter_and_body_without_surrounding_blank_lines():
    content = split("---\ntitle: Hello\n---\n\nBody text.\n\n")
    assert content.front.data == {"title": "Hello"}
    assert content.body == "Body text."


def test_line_for_points_at_nested_values_in_file_lines():
    content = split("---\ntitle: x\nthemes:\n  - theme: a\n    polarity: bad\n---\nbody")
    assert content.front.line_for(("title",)) == 2
    assert content.front.line_for(("themes", 0, "polarity")) == 5


def test_line_for_a_missing_key_falls_back_to_its_parent():
    content = split("---\ntitle: x\nthemes:\n  - theme: a\n---\n")
    assert content.front.line_for(("themes", 0, "note")) == 4


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("title: x\n---\n", 1, "must start with a '---' line"),
        ("---\ntitle: x\nbody without a closing fence\n", 1, "not closed"),
        ("---\ntitle: [unclosed\n---\n", 2, "invalid YAML"),
        ("---\ntitle: x\n  bad indent: y\n---\n", 3, "invalid YAML"),
        ("---\na: &x [1]\nb: *x\n---\n", 2, "anchors and aliases"),
    ],
)
def test_unreadable_front_matter_is_reported_with_its_line(text, line, message):
    with pytest.raises(ContentFileError) as caught:
        split(text)
    assert caught.value.line == line
    assert message in caught.value.message


def test_billion_laughs_is_refused_before_expansion():
    bomb = 'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'
    with pytest.raises(ContentFileError, match="anchors and aliases"):
        parse_yaml(bomb)


def test_python_specific_yaml_tags_are_refused():
    with pytest.raises(ContentFileError, match="invalid YAML"):
        parse_yaml("x: !!python/object/apply:os.system ['echo hacked']")


def test_read_text_normalises_line_ends_and_strips_a_bom(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes("\ufeff---\r\ntitle: x\r\n---\r\nbody\r\n".encode())
    assert read_text(path) == "---\ntitle: x\n---\nbody\n"


def test_read_text_reports_invalid_utf8_with_its_line(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(b"---\ntitle: ok\nsummary: caf\xe9\n---\n")
    with pytest.raises(ContentFileError) as caught:
        read_text(path)
    assert (caught.value.line, caught.value.message) == (3, "file is not valid UTF-8")


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f", "\x85"])
def test_read_text_refuses_control_characters_with_their_line(tmp_path, control):
    path = tmp_path / "control.md"
    path.write_text(f"---\ntitle: a\n---\nBody\twith a tab,\nthen a{control}b\n", encoding="utf-8")
    with pytest.raises(ContentFileError) as caught:
        read_text(path)
    assert (caught.value.line, caught.value.message) == (
        5, f"file contains the control character U+{ord(control):04X}; remove it")


def test_read_text_refuses_nul_bytes_and_huge_files(tmp_path):
    nul = tmp_path / "nul.md"
    nul.write_bytes(b"---\ntitle: a\x00b\n---\n")
    with pytest.raises(ContentFileError, match="U\\+0000"):
        read_text(nul)
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"---\ntitle: x\n---\n" + b"a" * 1_100_000)
    with pytest.raises(ContentFileError, match="larger than"):
        read_text(huge)
