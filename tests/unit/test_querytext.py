"""The reader's search text before any engine sees it: tokens, typed filters taken out, and
tidying that never fails, leaves text a parser can follow, and says what it changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.search.querytext import Token, extract_fields, join, tidy, tokenize, words_of

HOSTILE: list[str] = json.loads((Path(__file__).parents[1] / "data" / "hostile_queries.json").read_text(encoding="utf-8"))
FIELDS = frozenset({"site", "theme", "polarity", "type", "strength", "year"})


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text)]


def _parser_problems(text: str) -> list[str]:
    """Brackets without a partner and operators without words to join, in tidied ``text``."""
    tokens, depth, problems = tokenize(text), 0, []
    for i, token in enumerate(tokens):
        depth += {"open": 1, "close": -1}.get(token.kind, 0)
        if depth < 0:
            problems.append("unpaired )")
            depth = 0
        if token.kind == "operator":
            before = tokens[i - 1] if i else None
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            after_ok = after is not None and (after.kind in ("word", "phrase", "open") or (after.text == "NOT" != token.text))
            before_ok = before is not None and before.kind in ("word", "phrase", "close")
            if not (after_ok if token.text == "NOT" else before_ok and after_ok):
                problems.append(f"dangling {token.text}")
    return problems + ["unpaired ("] * depth


# --- tokenize ---------------------------------------------------------------------------------


def test_tokens_are_words_phrases_brackets_and_upper_case_operators():
    assert _kinds('"pooled budget" AND (care OR site:x) integrat* and') == [
        ("phrase", '"pooled budget"'), ("operator", "AND"), ("open", "("), ("word", "care"), ("operator", "OR"),
        ("word", "site:x"), ("close", ")"), ("word", "integrat*"), ("word", "and"),
    ]


@pytest.mark.parametrize("text, phrase", [('"open phrase', '"open phrase"'), ('care "', '""'), ('a"b', '"b"')])
def test_an_unclosed_quote_runs_to_the_end(text, phrase):
    assert tokenize(text)[-1] == Token("phrase", phrase)


def test_join_puts_one_space_between_tokens():
    assert join(tokenize("  (care\tOR  data)  ")) == "( care OR data )"
    assert str(Token("word", "care")) == "care"


def test_words_of_gives_the_plain_lower_case_words():
    assert words_of('Care AND "Pooled Budget" A&E integrat* NOT (x)') == ["care", "pooled", "budget", "a&e", "integrat", "x"]


# --- extract_fields ---------------------------------------------------------------------------


def test_known_fields_are_taken_out_in_the_order_typed():
    rest, found = extract_fields("Site:Sheffield care theme:Data-Sharing budget", FIELDS)
    assert rest == "care budget" and found == [("site", "Sheffield"), ("theme", "Data-Sharing")]


def test_unknown_fields_and_fields_inside_phrases_stay_in_the_text():
    assert extract_fields('foo:bar "site:x" care', FIELDS) == ('foo:bar "site:x" care', [])


def test_values_are_returned_as_typed_even_when_empty_or_odd():
    assert extract_fields("site: strength:>=3 year:20:15", FIELDS)[1] == [("site", ""), ("strength", ">=3"), ("year", "20:15")]


# --- tidy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, tidied", [
    ("integrat*", "integrat*"),
    ("*care", "care"),
    ("in*", "in"),
    ("int*gr", "int gr"),
    ("care*s", "care s"),
])
def test_only_a_trailing_star_after_three_letters_is_kept_and_others_are_explained(text, tidied):
    result = tidy(text)
    assert result.text == tidied
    assert bool(result.notices) == (text != tidied)
    assert all("A * only works at the end of a word of at least 3 letters" in n for n in result.notices)


def test_an_unknown_field_becomes_plain_words_with_a_notice():
    result = tidy("foo:bar care")
    assert result.text == "foo bar care" and "“foo:” is not something you can search by" in result.notices[0]


@pytest.mark.parametrize("text, tidied", [
    ("(care", "care"),
    ("care)", "care"),
    ("(a OR (b", "a OR b"),
    ("(a OR b)) c", "( a OR b ) c"),
])
def test_brackets_without_a_partner_are_dropped_with_a_notice(text, tidied):
    result = tidy(text)
    assert result.text == tidied and result.notices == ("Your brackets did not pair up, so we ignored the ones without a partner.",)


@pytest.mark.parametrize("text, tidied", [("()", ""), ("care ()", "care"), ("care()", "care"), ("NOT ()", "")])
def test_empty_brackets_leave_no_bracket_behind(text, tidied):
    assert tidy(text).text == tidied


@pytest.mark.parametrize("text, tidied", [
    ("AND care", "care"),
    ("care OR", "care"),
    ("care NOT", "care"),
    ("care AND OR data", "care OR data"),
    ("NOT NOT care", "NOT care"),
    ("care AND NOT data", "care AND NOT data"),
])
def test_operators_with_nothing_to_join_are_dropped_with_a_notice(text, tidied):
    result = tidy(text)
    assert result.text == tidied
    assert bool(result.notices) == (text != tidied)


def test_a_well_formed_search_is_left_alone():
    text = '"pooled budget" AND ( sheffield OR leeds ) NOT integrat*'
    assert tidy(text).text == text and tidy(text).notices == ()


def test_an_unclosed_quote_is_closed_with_a_notice():
    result = tidy('"pooled budget')
    assert result.text == '"pooled budget"'
    assert any("quote" in notice for notice in result.notices)


def test_each_notice_is_given_once():
    assert len(tidy("*a* *b* (c (d").notices) == 2


# --- hostile input ----------------------------------------------------------------------------


def test_nothing_raises_on_hostile_input():
    for text in HOSTILE:
        tokens = tokenize(text)
        assert all(t.kind in ("word", "phrase", "open", "close", "operator") for t in tokens)
        rest, found = extract_fields(text, FIELDS)
        assert all(name in FIELDS for name, _ in found) and isinstance(rest, str)
        words_of(text)


def test_tidied_hostile_input_is_always_something_a_parser_can_follow():
    problems = {text: _parser_problems(tidy(text).text) for text in HOSTILE}
    assert {text: found for text, found in problems.items() if found} == {}


def test_the_checker_finds_what_it_looks_for():
    assert _parser_problems("( a ) ) OR") == ["unpaired )", "dangling OR"]
    assert _parser_problems("( NOT") == ["dangling NOT", "unpaired ("]
