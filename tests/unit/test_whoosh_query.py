"""Plain words skip Whoosh's parser (kb.search.whoosh_query._plain_words): the query they make
must be exactly the parser's, with the real glossary and without one, over the benchmark's
queries, the hostile ones and words chosen to sit on the fast path's edges."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench import corpus
from bench.queries import QUERIES
from kb.config import PROJECT_ROOT
from kb.search import whoosh_query
from kb.search.glossary import Glossary, load_items
from kb.search.whoosh_query import analyse, compile_query

HOSTILE: list[str] = json.loads((Path(__file__).parents[1] / "data" / "hostile_queries.json").read_text(encoding="utf-8"))
EDGES = ["care", "the care", "the", "care care", "A&E", "a&e delays", "A&&E", "&care", "care&", "co-ordinated care",
         "don't", "care?", "care*", "ca?e homes", "AND", "care AND homes", "care and homes", "ANDNOT care", "care ANDMAYBE home",
         "café culture", "naïve", "ＡＢＣ", "x_y", "under_score", "123", "2015 budget", "GP practices", "NHS 111", "care^2",
         "care~", "care:", "title:care", "(care)", '"care"', "carers' assessments", "Torbay", "IG", "DToC", "Ö"]


def _corpus_queries() -> list[str]:
    rng = random.Random(11)
    words = [w for slot in "NCPROG" for w in corpus.VOCAB[slot]]
    return [" ".join(rng.sample(words, rng.randint(1, 4))) for _ in range(300)]


@pytest.mark.parametrize("glossary", ["none", "content"])
def test_plain_words_make_exactly_the_query_the_parser_makes(monkeypatch, glossary):
    items = load_items(PROJECT_ROOT / "content" / "glossary.yml") if glossary == "content" else []
    built = Glossary.build(items, analyse)
    queries = list(dict.fromkeys(QUERIES + HOSTILE + EDGES + _corpus_queries()))
    fast_taken = 0
    original = whoosh_query._plain_words

    def counting(tokens, any_word):
        nonlocal fast_taken
        query = original(tokens, any_word)
        fast_taken += query is not None
        return query

    monkeypatch.setattr(whoosh_query, "_plain_words", counting)
    fast = [(compile_query(q, built, lambda p: [p + "x"]), compile_query(q, built, lambda p: [p + "x"], any_word=True))
            for q in queries]
    monkeypatch.setattr(whoosh_query, "_plain_words", lambda tokens, any_word: None)
    parsed = [(compile_query(q, built, lambda p: [p + "x"]), compile_query(q, built, lambda p: [p + "x"], any_word=True))
              for q in queries]
    mismatches = [(q, f, p) for q, f, p in zip(queries, fast, parsed) if f != p]
    assert not mismatches, mismatches[:3]
    assert fast_taken > 500  # the fast path is really taken (both groupings of 300+ plain queries)
