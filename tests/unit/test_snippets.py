"""Highlights and snippets: everything escaped, ``<mark>`` the only markup, matches found by
their indexed form, and a snippet window that shows why an entry matched."""

from __future__ import annotations

import re

from markupsafe import Markup

from kb.search.snippets import SNIPPET_CHARS, highlight, snippet

MARK = re.compile(r"<mark>(.*?)</mark>")


def _terms(*stems: str) -> frozenset[str]:
    return frozenset(stems)


def _long_text(words: int = 200, **placed: int) -> str:
    """``w0 w1 …`` with the given words put at the given positions."""
    text = [f"w{i}" for i in range(words)]
    for word, position in placed.items():
        text[position] = word.rstrip("_0123456789")
    return " ".join(text)


def test_highlight_escapes_everything_and_marks_words_by_their_indexed_form():
    marked = highlight("Fish & <b>chips</b>, a Chip shop", _terms("chip"))
    assert isinstance(marked, Markup)
    assert str(marked) == "Fish &amp; &lt;b&gt;<mark>chips</mark>&lt;/b&gt;, a <mark>Chip</mark> shop"


def test_highlight_without_terms_is_the_escaped_text():
    assert str(highlight('<script>alert("x")</script>', frozenset())) == "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def test_a_and_e_is_marked_as_one_word():
    assert str(highlight("A&E and a&e, not A or E", _terms("a&e"))) == "<mark>A&amp;E</mark> and <mark>a&amp;e</mark>, not A or E"


def test_only_whole_words_are_marked():
    assert MARK.findall(str(highlight("scare careless cares Care", _terms("care")))) == ["cares", "Care"]


def test_no_snippet_without_a_match():
    assert snippet("Nothing to see here.", _terms("chip")) is None
    assert snippet("Chips here.", frozenset()) is None
    assert snippet("", _terms("chip")) is None


def test_a_snippet_is_escaped_and_mark_is_its_only_markup():
    text = "Before <script>alert(1)</script> the widget & <i>more</i> text"
    marked = str(snippet(text, _terms("widget")))
    assert "<script" not in marked and "<i>" not in marked
    assert re.sub(r"</?mark>", "", marked) == str(Markup.escape(text))


def test_the_window_holds_the_match_with_ellipses_where_text_is_left_out():
    marked = str(snippet(_long_text(alpha=120), _terms("alpha")))
    assert marked.startswith("… ") and marked.endswith(" …") and MARK.findall(marked) == ["alpha"]
    shown = marked.strip("… ").replace("<mark>", "").replace("</mark>", "")
    assert SNIPPET_CHARS - 10 <= len(shown) <= SNIPPET_CHARS
    assert 0 < shown.index("alpha") <= SNIPPET_CHARS // 5


def test_the_window_prefers_different_terms_over_one_term_repeated():
    text = _long_text(alpha=20, alpha_2=22, alpha_3=24, alpha_4=150, beta=155)
    assert MARK.findall(str(snippet(text, _terms("alpha", "beta")))) == ["alpha", "beta"]


def test_the_window_prefers_more_matches_when_terms_are_equal():
    text = _long_text(alpha=20, alpha_2=150, alpha_3=152, alpha_4=154)
    assert MARK.findall(str(snippet(text, _terms("alpha")))) == ["alpha", "alpha", "alpha"]


def test_a_match_at_the_start_has_no_leading_ellipsis():
    marked = str(snippet(_long_text(alpha=0), _terms("alpha")))
    assert marked.startswith("<mark>alpha</mark> w1") and marked.endswith(" …")


def test_a_snippet_of_a_whole_short_text_is_the_whole_text():
    assert str(snippet("Short alpha text.", _terms("alpha"))) == "Short <mark>alpha</mark> text."
    assert str(snippet("“Alpha,” she said!", _terms("alpha"))) == "“<mark>Alpha</mark>,” she said!"


def test_very_repetitive_text_stays_quick_and_marked():
    marked = str(snippet("care " * 50_000, _terms("care")))
    assert len(MARK.findall(marked)) == SNIPPET_CHARS // len("care ") and marked.endswith(" …")
