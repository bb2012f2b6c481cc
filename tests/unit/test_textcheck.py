"""kb.textcheck: the one rule for typed text."""

from __future__ import annotations

import pytest

from kb import textcheck


@pytest.mark.parametrize("text", ["", "Plain text", "Café – naïve “quotes” £270m", "emoji 😀 with a joiner 👩\u200d⚕️",
                                  "Arabic عربي and Hebrew עברית", "no\u00a0break space"])
def test_visible_text_is_fine_on_one_line_and_on_many(text):
    assert textcheck.problem(text) is None and textcheck.problem(text, multiline=True) is None
    assert textcheck.clean(text) == text


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85",
                                  "\x9f", "\ud800", "\udfff"])
def test_control_characters_and_lone_surrogates_are_refused_everywhere(char):
    text = f"before{char}after"
    assert textcheck.problem(text) == "must be one line of text without control characters"
    assert textcheck.problem(text, multiline=True) == "must not contain control characters"
    assert textcheck.disallowed(text) == [char]
    assert textcheck.clean(text) == textcheck.clean(text, multiline=True) == "beforeafter"


@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\u2028", "\u2029"])
def test_line_breaks_and_tabs_only_in_multi_line_text(char):
    text = f"one{char}two"
    assert textcheck.problem(text, multiline=True) is None
    assert textcheck.problem(text) == "must be one line of text without control characters"
    assert textcheck.clean(text) == "onetwo" and textcheck.clean(text, multiline=True) == text


def test_each_offending_character_is_reported_once_in_order():
    assert textcheck.disallowed("a\x1bb\x00c\x1b\n", multiline=False) == ["\x1b", "\x00", "\n"]


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["list"]])
def test_anything_but_a_string_is_a_problem(value):
    assert textcheck.problem(value) == "must be text"
