"""Ranking tiers from what a search asks for: entries tagged with the theme asked about first.

A question such as "data sharing barriers" names a theme and a polarity
(:mod:`kb.search.questions`); the search service passes them to the backend as preferences
(:attr:`kb.search.backend.SearchRequest.prefer`). Under "Best match", hits are then taken tier by
tier (:func:`kb.search.ranking.in_tiers`): those with the most preferences first, and by
relevance within each tier, so an entry tagged "data sharing: barrier" comes before one that
only mentions the words. Preferences never change which entries match.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from kb.search.postings import bits_from_ids, mask_of

# Keyword field of each preference (as the index writes them: kb/search/whoosh_backend.py).
PREFERENCE_FIELDS = {"type": "type", "site": "sites", "theme": "themes", "polarity": "polarities", "tag": "tags"}


def tiers(term_bits: Callable[[object, str, str], int], leaves: Sequence[tuple[object, int]],
          prefer: Sequence[tuple[str, str]]) -> list[list[int]]:
    """Bit sets per segment, one list per tier: documents with all ``prefer`` pairs first, then
    those with one fewer, down to one; documents with none are left for after the tiers.

    :param term_bits: ``term_bits(leaf, field, value)``, the documents of ``leaf`` with that value.
    :raise KeyError: for a preference that is not one of :data:`PREFERENCE_FIELDS`.
    """
    prefer = list(dict.fromkeys(prefer))
    if not prefer:
        return []
    fields = [(PREFERENCE_FIELDS[name], value) for name, value in prefer]
    per_leaf = []
    for leaf, _offset in leaves:
        size = leaf.doc_count_all()
        counts = np.zeros(size, dtype=np.int16)
        for field, value in fields:
            counts += mask_of(term_bits(leaf, field, value), size)
        per_leaf.append((counts, size))
    return [[bits_from_ids(np.flatnonzero(counts == wanted), size) for counts, size in per_leaf]
            for wanted in range(len(fields), 0, -1)]
