"""Relevance ranking: BM25 over the hits, computed with arrays, only the best page kept.

Matching has already decided *which* documents are hits (bit sets, :mod:`kb.search.whoosh_backend`);
ranking only orders them. Every word of the query in every field it was searched in adds its
BM25 score, weighted by the field's boost (title 4, summary 2, about 1.5, body 1); words under
NOT add nothing; a phrase scores as its words. Whoosh would do the same sum one document at a time
through its matchers; here each term adds its whole postings array at once, and
``argpartition`` picks the page without sorting the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from whoosh import query as wq

from kb.search.postings import Postings, bm25, idf, mask_of

# Local document numbers of the best hits of one segment, with their scores.
SegmentTop = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ScoringTerm:
    """One word in one field, and how much its score counts."""

    field: str
    text: str
    boost: float


def scoring_terms(node: wq.Query, boost: float = 1.0) -> list[ScoringTerm]:
    """The words of ``node`` that add to a hit's score (not those under NOT), each once."""
    terms: dict[tuple[str, str], float] = {}
    for term in _walk(node, boost):
        key = (term.field, term.text)
        terms[key] = max(terms.get(key, 0.0), term.boost)
    return [ScoringTerm(field, text, weight) for (field, text), weight in terms.items()]


def _walk(node: wq.Query, boost: float) -> Iterator[ScoringTerm]:
    boost *= getattr(node, "boost", 1.0) or 1.0
    if isinstance(node, wq.Term):
        yield ScoringTerm(node.fieldname, node.text, boost)
    elif isinstance(node, wq.Phrase):
        for word in node.words:
            yield ScoringTerm(node.fieldname, word, boost)
    elif isinstance(node, wq.Not):
        return
    elif isinstance(node, (wq.AndNot, wq.AndMaybe)):
        yield from _walk(node.a, boost)
        if isinstance(node, wq.AndMaybe):
            yield from _walk(node.b, boost)
    elif not node.is_leaf():
        for child in node.children():
            yield from _walk(child, boost)


def top_of_segment(
    hits: int,
    size: int,
    terms: list[ScoringTerm],
    postings: Callable[[str, str], Postings],
    lengths: Callable[[str], np.ndarray],
    weights: dict[tuple[str, str], float],
    average_lengths: dict[str, float],
    wanted: int,
) -> SegmentTop:
    """The ``wanted`` best hits of one segment: (local document numbers, scores), best first.

    ``weights`` holds each term's boost × idf, computed over the whole index so that scores from
    different segments compare.
    """
    mask = mask_of(hits, size)
    scores = np.zeros(size, dtype=np.float32)
    for term in terms:
        found = postings(term.field, term.text)
        if len(found.ids):
            contribution = bm25(found, lengths(term.field), average_lengths[term.field])
            scores[found.ids] += np.float32(weights[(term.field, term.text)]) * contribution
    candidates = np.flatnonzero(mask)  # in document order
    if len(candidates) > wanted:
        # Hits that tie with the last one wanted are taken in document order, as the ranking
        # below orders them: taken as they fell, a page and the next could show one hit twice
        # and another never (a page asks for its own and every earlier page's hits).
        found = scores[candidates]
        last = -np.partition(-found, wanted - 1)[wanted - 1]
        better = candidates[found > last]
        candidates = np.concatenate([better, candidates[found == last][:wanted - len(better)]])
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order], scores[candidates[order]]


def merge_segments(tops: list[tuple[int, SegmentTop]], wanted: int) -> list[int]:
    """Global document numbers of the ``wanted`` best hits, from each segment's (offset, top)."""
    if not tops:
        return []
    docs = np.concatenate([local + offset for offset, (local, _) in tops])
    scores = np.concatenate([score for _, (_, score) in tops])
    order = np.lexsort((docs, -scores))[:wanted]
    return [int(doc) for doc in docs[order]]


def term_weight(term: ScoringTerm, doc_frequency: int, doc_count: int) -> float:
    """The term's boost times its inverse document frequency."""
    return term.boost * idf(doc_frequency, doc_count)


def in_tiers(hits: list[int], tiers: list[list[int]], wanted: int,
             order: Callable[[list[int], int], list[int]]) -> list[int]:
    """The first ``wanted`` of ``hits`` (a bit set per segment), tier by tier.

    The hits in ``tiers[0]`` (a bit set per segment) come first, then those of ``tiers[1]`` not
    already taken, and so on, and last the hits in no tier; within each, ``order(bits, n)`` gives
    the global document numbers of the first ``n``. ("Strongest evidence first" ranks by
    strength this way, and each strength by relevance or date.)
    """
    found: list[int] = []
    left = list(hits)
    for tier in [*tiers, None]:
        if len(found) >= wanted or not any(left):
            break
        group = left if tier is None else [h & t for h, t in zip(left, tier)]
        if any(group):
            found += order(group, wanted - len(found))
        if tier is not None:
            left = [h & ~t for h, t in zip(left, tier)]
    return found[:wanted]
