"""What a search reads from each segment: memory-mapped arrays where the segment has them.

Every segment written by this version has a ``.kbarrays`` file beside it
(:mod:`kb.search.segment_arrays`): its postings, positions, field lengths and sort orders,
shared by every process through the page cache and never decoded. A segment without one (an
index written before, or a segment committed a moment ago whose file is being written) is read
through Whoosh and its decoded arrays kept in this process's byte-bounded cache, as before.

Either way the answers are the same, so a search never needs to know which it got. Bit sets
(Python integers, :mod:`kb.search.docsets`) are always made in the process and cached: they are
small (one bit per document) and cheap to make from an array.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time

import numpy as np

from kb.search import docsets
from kb.search.postings import Postings, bits_from_ids, field_lengths, mask_of, read_positions, read_postings
from kb.search.segment_arrays import MIN_DOCS, SUFFIX, SegmentArrays, open_arrays, path_for, sort_orders

RETRY_SECONDS = 2.0  # how long a segment found without arrays is searched through Whoosh before looking again


class SegmentData:
    """Per-segment search data for one backend; thread-safe. ``leaf`` is a Whoosh segment reader."""

    def __init__(self, cache_bytes: int):
        self.cache = docsets.LruCache(cache_bytes)
        self._arrays: dict[tuple[str, str], tuple[SegmentArrays | None, float]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget cached data and unmap every file (after a rebuild, on shutdown)."""
        with self._lock:
            self._arrays.clear()
        self.cache.clear()

    def mapped_count(self) -> int:
        """How many segments' arrays this process has mapped now."""
        with self._lock:
            return sum(1 for arrays, _ in self._arrays.values() if arrays is not None)

    # --- the arrays files -----------------------------------------------------------------

    def arrays(self, leaf) -> SegmentArrays | None:
        """The mapped arrays of segment ``leaf``, or ``None`` if it has none (yet)."""
        mapped = getattr(leaf, "_kb_arrays", None)
        if mapped is not None:  # kept on the reader too: it is asked for each term of each search
            return mapped
        if leaf.doc_count_all() < MIN_DOCS:  # a save's small segment: never has arrays
            return None
        folder = _folder(leaf)
        key = (folder, _segment(leaf))
        found = self._arrays.get(key)
        if found is not None and (found[0] is not None or time.monotonic() < found[1]):
            return found[0]
        arrays = open_arrays(folder, leaf.segment()) if folder else None
        with self._lock:
            if found is None:
                self._forget_retired()
            self._arrays[key] = (arrays, time.monotonic() + RETRY_SECONDS)
        if arrays is not None:
            leaf._kb_arrays = arrays
        return arrays

    def _forget_retired(self) -> None:
        # A new segment means a commit or a rebuild may have retired others: unmap those whose
        # file is gone, so that neither their disk space nor an open file stays held.
        for key in [k for k in self._arrays if not os.path.exists(os.path.join(k[0], k[1] + SUFFIX))]:
            del self._arrays[key]

    # --- postings, positions, lengths ------------------------------------------------------

    def postings(self, leaf, field: str, text: str) -> Postings:
        """Document numbers and frequencies of ``field:text`` in ``leaf`` (deleted documents included)."""
        arrays = self.arrays(leaf)
        if arrays is not None:
            return arrays.postings(field, text)
        return self.cache.get((_segment(leaf), "postings", field, text), lambda: read_postings(leaf, field, text))

    def positions(self, leaf, field: str, text: str) -> np.ndarray:
        """Position keys of ``field:text`` (see :func:`kb.search.postings.read_positions`)."""
        arrays = self.arrays(leaf)
        if arrays is not None:
            return arrays.positions(field, text)
        return self.cache.get((_segment(leaf), "positions", field, text), lambda: read_positions(leaf, field, text))

    def lengths(self, leaf, field: str) -> np.ndarray:
        """Every document's length in words in ``field``."""
        arrays = self.arrays(leaf)
        found = arrays.lengths(field) if arrays is not None else None
        if found is not None:
            return found
        return self.cache.get((_segment(leaf), "lengths", field), lambda: field_lengths(leaf, field))

    # --- bit sets ---------------------------------------------------------------------------

    def term_bits(self, leaf, field: str, text: str) -> int:
        """Documents of ``leaf`` containing ``field:text`` (deleted ones may remain)."""
        return self.cache.get(
            (_segment(leaf), field, text),
            lambda: bits_from_ids(self.postings(leaf, field, text).ids, leaf.doc_count_all()),
        )

    def live_bits(self, leaf) -> int:
        """Documents of ``leaf`` not deleted."""
        segment = leaf.segment()
        size = leaf.doc_count_all()
        return self.cache.get(
            (_segment(leaf), "live", segment.deleted_count()),
            lambda: docsets.full(size) & ~docsets.from_ids(segment.deleted_docs() or (), size),
        )

    # --- vocabulary -------------------------------------------------------------------------

    def words(self, leaf):
        """Every unstemmed word of ``leaf``, for ``in`` (rarely "yes" for a word that is not there: ask its bits)."""
        arrays = self.arrays(leaf)
        if arrays is not None:
            return _Words(arrays)
        return self.cache.get((_segment(leaf), "spell words"),
                              lambda: frozenset(_text(word) for word in leaf.lexicon("spell")))

    def values(self, leaf, field: str) -> list[str]:
        """The distinct values of keyword ``field`` in ``leaf``."""
        arrays = self.arrays(leaf)
        return self.cache.get(
            (_segment(leaf), "values", field),
            lambda: arrays.terms(field) if arrays is not None else [_text(v) for v in leaf.lexicon(field)],
        )

    def prefixed(self, leaves, prefix: str, limit: int) -> list[str]:
        """The first ``limit`` words (in byte order) starting with ``prefix`` across ``leaves``, commonest first.

        What Whoosh's ``expand_prefix`` and ``doc_frequency`` give over the whole index, read from
        the arrays where a segment has them.
        """
        per_leaf = []
        for leaf in leaves:
            arrays = self.arrays(leaf)
            if arrays is not None:
                per_leaf.append((arrays.terms("spell", prefix), lambda w, a=arrays: a.doc_frequency("spell", w)))
            else:
                words = [_text(w) for w in leaf.expand_prefix("spell", prefix)]
                per_leaf.append((words, lambda w, leaf=leaf: leaf.doc_frequency("spell", w)))
        words = heapq.merge(*(words for words, _ in per_leaf))
        candidates = list(itertools.islice(dict.fromkeys(words), limit))
        frequency = {w: sum(count(w) for _, count in per_leaf) for w in candidates}
        return sorted(candidates, key=lambda w: -frequency[w])

    # --- sorting ----------------------------------------------------------------------------

    def first_in_order(self, leaf, bits: int, sort: str, wanted: int) -> list[int]:
        """The first ``wanted`` documents of ``bits`` (local numbers) in ``sort`` order."""
        arrays = self.arrays(leaf)
        size = leaf.doc_count_all()
        if arrays is not None:
            order, rank = arrays.order(sort), arrays.rank(sort)
        else:
            order = self.cache.get((_segment(leaf), "order", sort), lambda: sort_orders(leaf)[sort])
            rank = self.cache.get((_segment(leaf), "rank", sort), lambda: _rank_of(order))
        if bits.bit_count() * 8 < size:  # few hits: sort them by their place
            docs = np.flatnonzero(mask_of(bits, size))
            chosen = docs[np.argsort(rank[docs], kind="stable")[:wanted]]
        else:  # many: walk the order until enough are found
            chosen = order[mask_of(bits, size)[order]][:wanted]
        return chosen.tolist()

    @staticmethod
    def sort_keys(leaf, sort: str, docs: list[int]) -> list[tuple]:
        """Keys that order documents of different segments as ``sort`` does."""
        published, titles = leaf.column_reader("published"), leaf.column_reader("sort_title")
        keys = []
        for doc in docs:
            day, title = published[doc], titles[doc]
            keys.append((title, -day) if sort == "title" else (day, title) if sort == "oldest" else (-day, title))
        return keys


class _Words:
    """A segment's unstemmed words as a container, looked up in its arrays."""

    __slots__ = ("_arrays",)

    def __init__(self, arrays: SegmentArrays):
        self._arrays = arrays

    def __contains__(self, word: str) -> bool:
        # A rare false "yes" costs one exact lookup later (its bit set is empty), never a wrong answer.
        return self._arrays.may_have_word(word)


def _rank_of(order: np.ndarray) -> np.ndarray:
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank


def _folder(leaf) -> str:
    return getattr(getattr(leaf, "_storage", None), "folder", "") or ""


def _segment(leaf) -> str:
    try:
        return leaf._kb_segment_id
    except AttributeError:
        leaf._kb_segment_id = leaf.segment().segment_id()
        return leaf._kb_segment_id


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


__all__ = ["SegmentData", "path_for"]
