"""A term's postings in one segment as NumPy arrays, and the array work done on them.

Whoosh reads postings one document at a time through layers of Python matchers; scoring the
8,000 hits of "care" at 10,000 entries, or checking a phrase's positions in each of them, took
seconds. Here a term's postings are read once, a block at a time, into arrays (document numbers,
frequencies; and, only when a phrase needs them, position keys), kept in the backend's cache for
as long as the segment exists, and every later use is a handful of vectorised operations:

* :func:`bits_from_ids` / :func:`mask_of` convert between arrays and the integer bit sets that
  matching and facet counting use (:mod:`kb.search.docsets`);
* :func:`phrase_docs` finds documents where words stand next to each other;
* :func:`bm25` gives each posting its BM25 score, which :mod:`kb.search.ranking` adds up.

Deleted documents may appear here; callers intersect with the segment's live documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.util.numeric import byte_to_length

from kb.search.schema import ArrayPositions

K1 = 1.2  # BM25 term-frequency saturation
B = 0.75  # BM25 length normalisation

_POSITION_BITS = 32  # a position key is (document << 32) | position
_LITTLE = np.dtype("<u4")
# Whoosh stores a field's length in one byte per document; this table undoes that encoding.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


@dataclass(frozen=True)
class Postings:
    """One term of one field in one segment: sorted document numbers and frequencies."""

    ids: np.ndarray  # int64, increasing
    freqs: np.ndarray  # float32, occurrences per document

    @property
    def nbytes(self) -> int:
        """Roughly how much memory this holds, for the cache's budget."""
        return self.ids.nbytes + self.freqs.nbytes + 100


EMPTY = Postings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
NO_POSITIONS = np.zeros(0, dtype=np.int64)


def _raw_matcher(leaf, fieldname: str, text: str):
    # The segment's own matcher: Reader.postings() would wrap it to skip deleted documents one
    # posting at a time, which is what this module exists to avoid.
    field_format = leaf.schema[fieldname].format
    return leaf._terms.matcher(fieldname, leaf._text_to_bytes(fieldname, text), field_format)


def _read(leaf, fieldname: str, text: str, second: str) -> tuple[list, list]:
    """The term's document numbers and, beside them, its ``"weights"`` or ``"values"``, block by block."""
    return _drain(_raw_matcher(leaf, fieldname, text), second)


def _drain(matcher, second: str) -> tuple[list, list]:
    ids: list = []
    others: list = []
    if isinstance(matcher, W3LeafMatcher):
        read_others = matcher._read_weights if second == "weights" else matcher._read_values
        while not matcher._atend:
            matcher._read_ids()
            read_others()
            ids.extend(matcher._ids)
            others.extend(matcher._weights if second == "weights" else matcher._values)
            matcher._next_block()
    else:  # short lists are stored inline with the term
        read_other = matcher.weight if second == "weights" else matcher.value
        while matcher.is_active():
            ids.append(matcher.id())
            others.append(read_other())
            matcher.next()
    return ids, others


def every_term(leaf, fieldname: str):
    """``(term bytes, postings, position keys or None)`` for every term of ``fieldname`` in byte order.

    Reads the segment's term table once, in order, instead of looking each term up: this is
    how :mod:`kb.search.segment_arrays` converts a whole segment.
    """
    field_format = leaf.schema[fieldname].format
    positional = isinstance(field_format, ArrayPositions)
    boost = np.float32(field_format.field_boost or 1.0)
    terms = leaf._terms
    for (name, text), info in terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        matcher = terms._codec.postings_reader(terms._postfile, info, field_format, term=(fieldname, text))
        if positional:
            ids, values = _drain(matcher, "values")
            ids_array = np.asarray(ids, dtype=np.int64)
            counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) >> 2
            positions = np.frombuffer(b"".join(values), dtype=_LITTLE).astype(np.int64)
            keys = (np.repeat(ids_array, counts) << _POSITION_BITS) | positions
            yield text, Postings(ids_array, counts.astype(np.float32)), keys
        else:
            ids, weights = _drain(matcher, "weights")
            freqs = np.asarray(weights, dtype=np.float32) / boost
            yield text, Postings(np.asarray(ids, dtype=np.int64), freqs), None


def every_pooled_term(pooled: dict[bytes, list[tuple]], field_format):
    """:func:`every_term` for one field's postings still in memory, as
    :class:`kb.search.segment_writer.TermPool` holds them (term bytes to ``(document, weight,
    value)`` in document order): the same values, without reading the segment's files back.
    """
    positional = isinstance(field_format, ArrayPositions)
    boost = np.float32(field_format.field_boost or 1.0)
    for text in sorted(pooled):
        found = pooled[text]
        ids = np.fromiter([posting[0] for posting in found], dtype=np.int64, count=len(found))
        if positional:
            values = [posting[2] for posting in found]
            counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) >> 2
            positions = np.frombuffer(b"".join(values), dtype=_LITTLE).astype(np.int64)
            yield text, Postings(ids, counts.astype(np.float32)), (np.repeat(ids, counts) << _POSITION_BITS) | positions
        else:
            # Through float32 first, as the segment stores weights.
            freqs = np.asarray([posting[1] for posting in found], dtype=np.float32) / boost
            yield text, Postings(ids, freqs), None


def read_postings(leaf, fieldname: str, text: str) -> Postings:
    """All postings of ``fieldname:text`` in segment reader ``leaf`` (deleted documents included)."""
    if (fieldname, text) not in leaf:
        return EMPTY
    boost = leaf.schema[fieldname].format.field_boost or 1.0
    ids, weights = _read(leaf, fieldname, text, "weights")
    freqs = np.asarray(weights, dtype=np.float32) / np.float32(boost)
    return Postings(np.asarray(ids, dtype=np.int64), freqs)


def read_positions(leaf, fieldname: str, text: str) -> np.ndarray:
    """``(document << 32) | position`` for every occurrence of ``fieldname:text``, increasing.

    Only for fields stored with :class:`~kb.search.schema.ArrayPositions`; read only when a phrase
    needs them (they take several times the memory of the postings).
    """
    if (fieldname, text) not in leaf or not isinstance(leaf.schema[fieldname].format, ArrayPositions):
        return NO_POSITIONS
    ids, values = _read(leaf, fieldname, text, "values")
    positions = np.frombuffer(b"".join(values), dtype=_LITTLE).astype(np.int64)
    counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) >> 2
    return (np.repeat(np.asarray(ids, dtype=np.int64), counts) << _POSITION_BITS) | positions


def field_lengths(leaf, fieldname: str) -> np.ndarray:
    """The length in words of ``fieldname`` for every document of ``leaf`` (float32)."""
    size = leaf.doc_count_all()
    column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    encoded = np.zeros(size, dtype=np.uint8)
    if column is not None:
        # The column is one unsigned byte per document, possibly shorter than the segment
        # (documents past its end have no length); reading it whole beats a call per document.
        count = min(column._count, size)
        encoded[:count] = np.frombuffer(column._dbfile.get(column._basepos, count), dtype=np.uint8)
    return _LENGTH_OF_BYTE[encoded]


def bits_from_ids(ids: np.ndarray, size: int) -> int:
    """The bit set (bit ``i`` for document ``i``) of the documents in ``ids``."""
    if not len(ids):
        return 0
    flags = np.zeros(size, dtype=bool)
    flags[ids] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def mask_of(bits: int, size: int) -> np.ndarray:
    """A boolean array of ``size`` with ``True`` where ``bits`` has a bit set."""
    if bits <= 0:
        return np.zeros(size, dtype=bool)
    data = np.frombuffer(bits.to_bytes((size + 7) >> 3, "little"), dtype=np.uint8)
    return np.unpackbits(data, bitorder="little")[:size].view(bool)


def phrase_docs(words: list[np.ndarray], candidates: np.ndarray) -> np.ndarray:
    """Documents (among ``candidates``, a boolean mask) where the words occur one after another.

    ``words`` are the words' position keys (:func:`read_positions`), in phrase order.
    """
    common: np.ndarray | None = None
    for offset, keys in enumerate(words):
        keys = keys[candidates[keys >> _POSITION_BITS]] - offset
        if common is None:
            common = keys
        elif not len(keys):
            common = keys
        else:
            found = np.searchsorted(keys, common)
            found[found == len(keys)] = 0
            common = common[keys[found] == common]
        if not len(common):
            break
    if common is None:
        return NO_POSITIONS
    return np.unique(common >> _POSITION_BITS)


def bm25(postings: Postings, lengths: np.ndarray, average_length: float) -> np.ndarray:
    """Each posting's BM25 term-frequency part (multiply by the term's idf and boost)."""
    tf = postings.freqs
    norm = np.float32(K1) * (np.float32(1 - B) + np.float32(B) * lengths[postings.ids] / np.float32(max(average_length, 1.0)))
    return tf * np.float32(K1 + 1) / (tf + norm)


def idf(doc_frequency: int, doc_count: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return float(np.log(1.0 + (doc_count - doc_frequency + 0.5) / (doc_frequency + 0.5)))


