"""Matches for highlights are found by scanning for each stem; they must be exactly the matches the
word pattern finds (which is what the snippet rules were written and tested against)."""

from __future__ import annotations

import random

import pytest

from kb.search.schema import stem_word
from kb.search.snippets import _matches, _matches_by_pattern, highlight

WORDS = ["care", "Care", "CARES", "careful", "scare", "carer's", "happy", "happiness", "Happily", "A&E", "a&e",
         "A&Eish", "&e", "e", "integration", "Integrated", "disintegrate", "data-sharing", "sharing,", "share.",
         "naïve", "Ärzte", "arzt", "_care", "care_home", "1care", "İstanbul", "istanbul", "ﬁsh", "fish"]


def _spans(found):
    return [(m.start(), m.end(), m.group()) for m in found]


@pytest.mark.parametrize("seed", range(40))
def test_scanning_finds_exactly_what_the_pattern_finds(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(WORDS) + rng.choice([" ", " ", "\n", ", ", "(", ")", "&", "-", ""]) for _ in range(80))
    terms = frozenset(stem_word(w.lower().strip(",.'s")) for w in rng.sample(WORDS, 4)) - {""}
    assert _spans(_matches(text, terms)) == _spans(_matches_by_pattern(text, terms)), (text, terms)


def test_text_whose_length_changes_in_lower_case_is_still_marked_correctly():
    # "İ" lower-cases to two characters, so positions in the lowered text would be off by one.
    marked = str(highlight("İİ care homes and Care", frozenset({"care"})))
    assert marked == "İİ <mark>care</mark> homes and <mark>Care</mark>"
