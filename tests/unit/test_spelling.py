""""Did you mean": every string one edit away, and respelling only the words the reader cannot
find, each with the neighbour found in the most entries they may read."""

from __future__ import annotations

import pytest

from kb.search.spelling import LETTERS, MAX_LENGTH, MIN_LENGTH, edits1, respell

VOCABULARY = {"telehealth": 4, "care": 40, "cart": 1, "card": 3, "integration": 5, "budget": 6, "budgets": 2}


def _respell(text: str, vocabulary: dict[str, int] = VOCABULARY) -> str | None:
    words = tuple(w.lower() for w in text.replace('"', " ").split() if w not in ("AND", "OR", "NOT"))
    return respell(text, words, lambda word: vocabulary.get(word, 0))


def test_edits1_has_every_deletion_transposition_substitution_and_insertion():
    edits = edits1("abc")
    assert {"bc", "ac", "ab"} <= edits  # deletions
    assert {"bac", "acb"} <= edits  # transpositions
    assert {"xbc", "axc", "abx"} <= edits  # substitutions
    assert {"xabc", "axbc", "abxc", "abcx"} <= edits  # insertions
    assert "abc" not in edits


def test_edits1_has_nothing_more_than_one_edit_away():
    n = 3
    assert len(edits1("abc")) <= n + (n - 1) + 26 * n + 26 * (n + 1)
    assert all(abs(len(e) - 3) <= 1 for e in edits1("abc"))
    assert set("".join(edits1("abc"))) <= set(LETTERS)


def test_edits1_of_the_empty_word_is_every_letter():
    assert edits1("") == set(LETTERS)


@pytest.mark.parametrize("typed, meant", [
    ("teleheatlh", "telehealth"),  # transposition
    ("integraton", "integration"),  # deletion
    ("budgeet", "budget"),  # insertion
    ("budgit", "budget"),  # substitution
])
def test_a_word_one_edit_from_a_visible_word_is_respelt(typed, meant):
    assert _respell(typed) == meant


def test_the_most_common_visible_neighbour_wins():
    assert _respell("cardt") == "card"  # card (3 entries) and cart (1) are one deletion away
    assert _respell("cxre") == "care"


def test_only_words_the_reader_cannot_find_are_respelt_and_the_rest_is_kept():
    assert _respell('Teleheatlh AND "care budgit"') == 'telehealth AND "care budget"'
    assert _respell("budgit budgit care") == "budget budget care"


def test_nothing_to_improve_is_none():
    assert _respell("care budget") is None
    assert _respell("zzzzzzzz") is None
    assert _respell("teleheatlh", {"care": 1}) is None


@pytest.mark.parametrize("word", ["c" * (MIN_LENGTH - 1), "x" * (MAX_LENGTH + 1), "budg3t", "car-e"])
def test_short_long_and_non_alphabetic_words_are_left_alone(word):
    vocabulary = {"cc": 9, "ccc": 9, "cccc": 9, "x" * MAX_LENGTH: 9, "budget": 9, "care": 9}
    assert respell(word, (word,), lambda w: vocabulary.get(w, 0)) is None


def test_words_are_replaced_whole_and_whatever_their_case():
    assert _respell("TELEHEATLH teleheatlhs") == "telehealth teleheatlhs"
