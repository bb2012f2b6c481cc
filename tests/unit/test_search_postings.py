"""The array side of search: fast analysis, position arrays, postings, phrases and BM25 ranking.

Each is held against the slow reference it replaces — Whoosh's analyzer, Whoosh's own phrase
matching and postings, and BM25 written out one document at a time — on a real index.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq

from kb.search import postings, ranking
from kb.search.documents import ANYONE, IndexDocument
from kb.search.glossary import Glossary
from kb.search.schema import ArrayPositions, WordSet, positions_of, text_analyzer, vocabulary
from kb.search.whoosh_backend import WhooshBackend
from kb.search.whoosh_index import IndexStore

DATA = Path(__file__).resolve().parent.parent / "data"
WORDS = ("care home hospital discharge social isolation pooled budget the of and integrated integration "
         "A&E frail older people carers district nurse data sharing governance").split()


def _reference_positions(text: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for token in text_analyzer()(text, positions=True):
        found.setdefault(token.text, []).append(token.pos)
    return found


TRICKY = [
    "", "   ", "the of and", "A&E and a&e&ed", "İstanbul ŞEHİR straße ﬁnance", "café café", "x y z",
    "under_score 42 4.5 2015-16", "emoji 🙂 care", "The care of the carers", "Ω ω Σσς", "e\u0301te\u0301",
    "a" * 300, "CARE\u00a0HOMES\u2003care", "don't won't O'Neill", "NHS111 111",
]


@pytest.mark.parametrize("text", TRICKY)
def test_fast_analysis_gives_exactly_what_the_analyzer_gives(text):
    assert positions_of(text) == _reference_positions(text)


def test_fast_analysis_agrees_with_the_analyzer_on_hostile_and_generated_text():
    texts = json.loads((DATA / "hostile_queries.json").read_text())
    rng = random.Random(7)
    texts += [" ".join(rng.choice(WORDS) for _ in range(200)) for _ in range(20)]
    for text in texts:
        assert positions_of(text) == _reference_positions(text), text


def test_positions_round_trip_through_the_array_format():
    fmt = ArrayPositions(field_boost=2.0)
    encoded = fmt.encode([0, 3, 70000])
    assert fmt.decode_positions(encoded) == [0, 3, 70000]
    assert fmt.decode_frequency(encoded) == 3 and fmt.decode_weight(encoded) == 6.0
    values = list(fmt.word_values("care homes and care", None))
    assert sorted((w, n, wt, fmt.decode_positions(v)) for w, n, wt, v in values) == [
        ("care", 2, 4.0, [0, 2]), ("home", 1, 2.0, [1])]


def test_the_spell_field_indexes_each_distinct_word_once():
    words = sorted(w for w, *_ in WordSet().word_values("Care homes, care HOMES and A&E", None))
    assert words == sorted(vocabulary("Care homes, care HOMES and A&E").split()) == ["a&e", "care", "homes"]


def test_bit_sets_and_masks_convert_both_ways():
    ids = np.array([0, 5, 8, 63, 64, 99], dtype=np.int64)
    bits = postings.bits_from_ids(ids, 100)
    assert bits == sum(1 << int(i) for i in ids)
    assert list(np.flatnonzero(postings.mask_of(bits, 100))) == list(ids)
    assert postings.bits_from_ids(ids[:0], 100) == 0 and not postings.mask_of(0, 100).any()


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """A real index of 300 generated documents, written as a rebuild writes them."""
    rng = random.Random(11)
    documents = []
    for i in range(1, 301):
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 120)))
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        documents.append(IndexDocument(
            id=i, stamp="1|published|public", title=title, summary="", body=body, about="", type="evidence",
            sites=("leeds",), themes=(), tags=(), polarities=(), year=2015, published=date(2015, 1, 1),
            strength=None, readers=(ANYONE,)))
    backend = WhooshBackend(IndexStore(tmp_path_factory.mktemp("index")), Glossary.build([], lambda t: t.split()),
                            index_procs=1)
    backend.rebuild(documents)
    # A second segment, as saves add them.
    backend.apply([301], lambda ids: {301: IndexDocument(
        id=301, stamp="1|published|public", title="care home", summary="", body="pooled budget care home",
        about="", type="evidence", sites=(), themes=(), tags=(), polarities=(), year=None, published=None,
        strength=None, readers=(ANYONE,))})
    searcher = backend._pool.get()
    yield backend, searcher
    backend.close()


def test_postings_arrays_match_what_whoosh_reads(index):
    backend, searcher = index
    for leaf, _ in searcher.reader().leaf_readers():
        for field in ("title", "body"):
            for term in ("care", "home", "integr", "a&e", "nowhere"):
                found = postings.read_postings(leaf, field, term)
                expected = list(leaf.postings(field, term).items_as("frequency")) if (field, term) in leaf else []
                assert list(found.ids) == [doc for doc, _ in expected]
                assert list(found.freqs) == [freq for _, freq in expected]
            lengths = postings.field_lengths(leaf, field)
            assert list(lengths) == [leaf.doc_field_length(d, field, 0) or 0 for d in range(leaf.doc_count_all())]


@pytest.mark.parametrize("phrase", ["care home", "pooled budget", "social isolation care", "home care", "older people",
                                    "data sharing governance", "care care"])
def test_phrases_find_exactly_what_whoosh_finds(index, phrase):
    backend, searcher = index
    words = phrase.split()
    stems = [next(iter(positions_of(w))) for w in words]
    for field in ("title", "body"):
        expected = {searcher.stored_fields(d)["id"] for d in searcher.docs_for_query(wq.Phrase(field, stems))}
        found = set()
        for leaf, offset in searcher.reader().leaf_readers():
            size = leaf.doc_count_all()
            docs = postings.phrase_docs([postings.read_positions(leaf, field, s) for s in stems], np.ones(size, dtype=bool))
            found |= {leaf.stored_fields(int(d))["id"] for d in docs}
        assert found == expected, (phrase, field)


def test_ranking_orders_hits_as_bm25_worked_out_by_hand(index):
    backend, searcher = index
    terms = [ranking.ScoringTerm("title", "care", 4.0), ranking.ScoringTerm("body", "care", 1.0),
             ranking.ScoringTerm("body", "budget", 1.0)]
    leaves = list(searcher.reader().leaf_readers())
    doc_count = sum(leaf.doc_count_all() for leaf, _ in leaves)
    expected = {}
    for leaf, offset in leaves:
        for doc in range(leaf.doc_count_all()):
            score = 0.0
            for term in terms:
                frequency = sum(len(postings.read_postings(lf, term.field, term.text).ids) for lf, _ in leaves)
                idf = math.log(1 + (doc_count - frequency + 0.5) / (frequency + 0.5))
                average = sum(lf.field_length(term.field) for lf, _ in leaves) / doc_count
                found = dict(leaf.postings(term.field, term.text).items_as("frequency")) if (term.field, term.text) in leaf else {}
                tf = found.get(doc, 0)
                length = leaf.doc_field_length(doc, term.field, 0) or 0
                score += term.boost * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
            expected[offset + doc] = score
    query = wq.Or([wq.Term(t.field, t.text, boost=t.boost) for t in terms])
    search_hits = [(1 << leaf.doc_count_all()) - 1 for leaf, _ in leaves]

    class Request:
        text, readers, filters, sort, offset, limit, time_budget = "", (ANYONE,), {}, "relevance", 0, 20, 5.0

    from kb.search.whoosh_backend import _Search

    ranked = _Search(backend, searcher, Request())._ranked(query, search_hits, 20)
    best = sorted(expected, key=lambda d: (-expected[d], d))[:20]
    assert [round(expected[d], 4) for d in ranked] == [round(expected[d], 4) for d in best]
    assert expected[ranked[0]] > 0


def test_scoring_terms_leave_out_words_under_not_and_score_phrases_as_words():
    query = wq.AndNot(wq.Or([wq.Term("title", "care", boost=4.0), wq.Phrase("body", ["pool", "budget"])]),
                      wq.Term("body", "young"))
    terms = {(t.field, t.text, t.boost) for t in ranking.scoring_terms(query)}
    assert terms == {("title", "care", 4.0), ("body", "pool", 1.0), ("body", "budget", 1.0)}
    assert ranking.scoring_terms(wq.Not(wq.Term("body", "care"))) == []


def test_hits_that_tie_are_ranked_in_document_order_whatever_the_page_size():
    # 300 hits, many with the same score: every shorter ranking must begin the longer ones, or
    # paging through results (each page ranks its own and the earlier pages' hits) repeats some.
    rng = random.Random(7)
    size = 300
    ids = np.arange(size, dtype=np.int64)
    counts = np.asarray([rng.choice([1, 1, 1, 2, 3]) for _ in range(size)], dtype=np.float32)
    found = postings.Postings(ids, counts)
    term = ranking.ScoringTerm("body", "care", 1.0)
    lengths = np.full(size, 10, dtype=np.float32)

    def top(wanted: int) -> list[int]:
        docs, _ = ranking.top_of_segment((1 << size) - 1, size, [term], lambda field, text: found,
                                         lambda field: lengths, {("body", "care"): 1.0}, {"body": 10.0}, wanted)
        return [int(doc) for doc in docs]

    everything = top(size)
    assert len(set(everything)) == size
    for wanted in (1, 20, 40, 57, 60, 80, 199):
        assert top(wanted) == everything[:wanted], wanted
