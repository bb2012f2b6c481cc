"""Reading searches typed as questions (kb/search/questions.py): the words that matter, the themes,
polarity and evidence asked for; and the ranking tiers those make (kb/search/preference.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from kb.search.glossary import load_items
from kb.search.postings import bits_from_ids
from kb.search.preference import tiers
from kb.search.querytext import join, tokenize
from kb.search.questions import Question, ThemeMatcher, ThemeName, left_out_notice, meaningful_tokens, understand
from kb.search.whoosh_query import analyse

CONTENT = Path(__file__).parents[2] / "content"
THEMES = [ThemeName(t["slug"], t["name"]) for t in yaml.safe_load((CONTENT / "themes.yml").read_text(encoding="utf-8"))]
MATCHER = ThemeMatcher(THEMES, analyse, [item.forms for item in load_items(CONTENT / "glossary.yml")])


def _meaningful(text: str) -> tuple[str, tuple[str, ...]]:
    tokens, left_out = meaningful_tokens(tokenize(text), analyse)
    return join(tokens), left_out


# --- the words that matter --------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "kept", "left_out"), [
    ("what helped other areas with information governance and data sharing",
     "with information governance and data sharing", ("what", "helped", "other", "areas")),
    ("how did areas get past information governance problems",
     "information governance", ("how", "did", "areas", "get", "past", "problems")),
    ("data sharing barriers", "data sharing", ("barriers",)),
    ("evidence that integrated teams reduce emergency admissions",
     "that integrated teams emergency admissions", ("evidence", "reduce")),
    ("what got in the way of the better care fund", "of the better care fund", ("what", "got", "in", "the", "way")),
])
def test_question_filler_and_intent_words_are_left_out(typed, kept, left_out):
    assert _meaningful(typed) == (kept, left_out)


@pytest.mark.parametrize("typed", ["social care for older people", "health and wellbeing board", "joint working",
                                   "Living Well", "unmet need", "pioneer",
                                   "home help", "place-based care", "waiting list", "council cuts"])
def test_words_that_carry_meaning_in_health_and_care_are_kept(typed):
    assert _meaningful(typed) == (typed, ())


def test_a_search_of_only_question_words_is_searched_as_typed():
    assert _meaningful("what how") == ("what how", ())
    assert _meaningful("how did other areas") == ("how did other areas", ())


def test_when_only_intent_words_remain_they_are_searched():
    assert _meaningful("what helped") == ("helped", ("what",))
    assert _meaningful("what got in the way of evaluation") == ("of evaluation", ("what", "got", "in", "the", "way"))
    assert _meaningful("barriers") == ("barriers", ())


def test_quoted_words_prefixes_and_searches_with_operators_are_kept_as_typed():
    assert _meaningful('"what" helped governance') == ('"what" governance', ("helped",))
    assert _meaningful("how integrat*") == ("integrat*", ("how",))
    for literal in ("what AND governance", "how OR why", "NOT what governance", "(what governance)"):
        assert _meaningful(literal) == (join(tokenize(literal)), ())


def test_the_notice_names_each_word_left_out_and_how_to_keep_one():
    assert left_out_notice(["barriers"]) == "We searched without “barriers”. To include a word, put it in quotes."
    assert left_out_notice(["what", "how", "areas"]).startswith("We searched without “what”, “how” and “areas”.")


# --- what is asked for -------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "expected"), [
    ("what helped other areas with information governance and data sharing",
     Question(("information-governance", "data-sharing"), "enabler", None, "")),
    ("how did areas get past information governance problems", Question(("information-governance",), "barrier")),
    ("data sharing barriers", Question(("data-sharing",), "barrier")),
    ("which pioneers pooled budgets", Question(("pooled-budgets",), rest="pioneers")),
    ("how strong is the evidence on care navigators", Question(("care-coordination-navigators",), None, "evidence")),
    ("what got in the way of the Better Care Fund", Question(("better-care-fund",), "barrier")),
    ("what went well with integrated teams", Question(("multidisciplinary-teams",), "enabler")),
    ("telemedicine in care homes evaluation", Question((), None, "evidence", "telemedicine care homes")),
    ("what helped and what got in the way with housing", Question(("housing",))),
    ("care homes", Question(rest="care homes")),
])
def test_themes_polarity_and_evidence_are_recognised(typed, expected):
    assert understand(typed, MATCHER) == expected


@pytest.mark.parametrize(("typed", "theme"), [
    ("IG problems", "information-governance"),  # a glossary term for the theme's name
    ("BCF barriers", "better-care-fund"),
    ("Integration Transformation Fund", "better-care-fund"),  # another form of the same glossary item
    ("multidisciplinary team", "multidisciplinary-teams"),  # singular of the name
    ('"data sharing"', "data-sharing"),  # a quoted phrase names a theme as a whole
    ("co-production", "citizen-involvement-coproduction"),  # one of the ways readers name it
])
def test_themes_are_recognised_by_other_names(typed, theme):
    assert understand(typed, MATCHER).themes == (theme,)


def test_a_search_with_operators_asks_for_nothing_beyond_its_words():
    assert not understand("data sharing AND barriers", MATCHER).understood
    assert not understand("(housing) problems", MATCHER).understood


def test_an_alias_of_a_theme_the_site_does_not_have_is_ignored():
    matcher = ThemeMatcher([ThemeName("housing", "Housing")], analyse)
    assert understand("pooled budgets and housing", matcher).themes == ("housing",)


# --- ranking tiers -----------------------------------------------------------------------------


class _Leaf:
    def __init__(self, size: int):
        self.size = size

    def doc_count_all(self) -> int:
        return self.size


def test_tiers_put_documents_with_more_preferences_first():
    leaf = _Leaf(6)
    values = {("themes", "data-sharing"): [0, 1, 2], ("tags", "data-sharing:barrier"): [1, 4]}

    def term_bits(_leaf, field, value):
        return bits_from_ids(np.array(values.get((field, value), []), dtype=np.int64), 6)

    found = tiers(term_bits, [(leaf, 0)], [("theme", "data-sharing"), ("tag", "data-sharing:barrier")])
    assert found == [[0b000010], [0b010101]]
    assert tiers(term_bits, [(leaf, 0)], []) == []
