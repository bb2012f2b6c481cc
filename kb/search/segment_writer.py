"""Writing a Whoosh segment a term at a time instead of a posting at a time.

Whoosh's :class:`~whoosh.writing.SegmentWriter` keeps every posting of a segment as a tuple in a
pool, sorts the pool when the segment is committed, and hands the postings one by one to the
codec, which looks up the document's field length and checks the posting's types for each.
At about 700 postings per entry that was most of the time a rebuild took. :class:`SegmentWriter`
here keeps each term's postings together as they are added (documents arrive in order, so each
term's list is already sorted), sorts only the terms, and gives the codec a block of postings at
a time. The files it writes are byte for byte those Whoosh writes for the same documents
(``tests/unit/test_segment_writer.py``): only the route there changes.

:func:`write_segments` writes one segment per process from a list of documents, for a rebuild.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
import threading
import zlib
from array import array
from collections import defaultdict
from operator import sub
from pickle import dumps
from typing import Callable, Iterable

from whoosh import writing
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, _lenfield
from whoosh.system import pack_int
from whoosh.util.numeric import length_to_byte
from whoosh.reading import SegmentReader

from kb.search import segment_arrays
from kb.search.schema import TEXT_FIELDS, ArrayPositions, WordSet, positions_and_words, vocabulary_words

_LITTLE_ENDIAN = sys.byteorder == "little"
# Whoosh's codec with posting blocks stored as they are. Zlib saved 4% of the postings file (blocks
# are short, and positions are arrays of integers) and took an eighth of a rebuild's time. Readers
# see from each block whether it is compressed, so segments of both kinds mix freely.
UNCOMPRESSED = W3Codec(compression=0)


class TermPool:
    """The postings of the segment being written, grouped by field and term: lists of
    ``(document number, weight, value bytes)`` in the order added.

    Stands in for Whoosh's ``PostingPool`` (:meth:`SegmentWriter.add_document` fills it itself).
    ``words`` holds the fields in our own text formats, by term text (encoded once per term, when
    the segment is written, rather than once per posting); ``terms`` the other fields, by term
    bytes. Everything stays in memory, as Whoosh's pool did with the memory limit rebuilds gave it.
    """

    def __init__(self):
        self.words: defaultdict[str, defaultdict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.terms: defaultdict[str, defaultdict[bytes, list]] = defaultdict(lambda: defaultdict(list))

    def by_field(self) -> dict[str, dict[bytes, list]]:
        """The postings grouped by field, then term bytes; only fields with postings (a field the
        codec is told of takes a number in the terms file)."""
        grouped: dict[str, dict[bytes, list]] = {name: dict(terms) for name, terms in self.terms.items() if terms}
        for name, words in self.words.items():
            if words:
                grouped[name] = {word.encode(): postings for word, postings in words.items()}
        return grouped

    def cleanup(self) -> None:
        # Kept until the writer goes: the segment arrays are made from them once the segment is
        # written. Clearing them here took as long as freeing the writer does anyway.
        pass


class SegmentWriter(writing.SegmentWriter):
    """Whoosh's segment writer with a :class:`TermPool`: same arguments, same files, less time.

    Only for Whoosh's default codec (W3), whose postings writer it fills a block at a time.
    """

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        if not isinstance(self.codec, W3Codec):
            raise TypeError(f"only Whoosh's W3 codec is supported, not {type(self.codec).__name__}")
        self.pool = TermPool()

    def add_document(self, **fields):
        """Whoosh's ``SegmentWriter.add_document``, posting straight into the pool; text in our own
        formats (:class:`~kb.search.schema.ArrayPositions`, :class:`~kb.search.schema.WordSet`)
        is analysed without the generators Whoosh passes every word through."""
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        words, terms = self.pool.words, self.pool.terms
        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        self._check_fields(schema, fieldnames)

        # Text fields are analysed first: their distinct words are the vocabulary that `spell`
        # is given (see _spelling), which comes before `summary` and `title` in field order.
        analysed: dict[str, dict[str, list[int]]] = {}
        vocabulary: set[str] | None = set()
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if type(schema[fieldname].format) is ArrayPositions and isinstance(value, str) and schema[fieldname].indexed:
                analysed[fieldname], kept = positions_and_words(value)
                vocabulary = None if kept is None or vocabulary is None else vocabulary | kept
        perdocwriter.start_doc(docnum)
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]
            if field.separate_spelling() or field.vector:
                raise NotImplementedError(f"{fieldname}: spelling fields and term vectors are not supported")
            length = 0
            if field.indexed:
                fieldboost = self._field_boost(fields, fieldname, docboost)
                form = type(field.format)
                if fieldname in analysed:
                    weight = field.format.field_boost * fieldboost
                    pooled = words[fieldname]
                    encode = _encode_positions
                    for word, positions in analysed[fieldname].items():
                        count = len(positions)
                        length += count
                        pooled[word].append((docnum, count * weight, encode("I", positions).tobytes()))
                elif form is WordSet and isinstance(value, str):
                    weight = field.format.field_boost * fieldboost
                    pooled = words[fieldname]
                    for word in _spelling(value, fields, vocabulary):
                        pooled[word].append((docnum, weight, b""))
                    # not scorable: no length
                else:
                    scorable = field.scorable
                    pooled = terms[fieldname]
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if scorable:
                            length += freq
                        pooled[tbytes].append((docnum, weight * fieldboost, vbytes))

            stored = fields.get(f"_stored_{fieldname}", value)
            perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
            column = field.column_type
            if column and stored is not None:
                perdocwriter.add_column_value(fieldname, column, field.to_column_value(stored))

        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def add_reader(self, reader):
        raise NotImplementedError("merging segments goes through Whoosh's own writer")

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            self._by_field = self.pool.by_field()
            write_postings(self.fieldwriter, self.schema, self._by_field, lengths, self.docnum)
        finally:
            lengths.close()
        self.fieldwriter.close()

    def write_arrays(self, segment) -> None:
        """Write the segment arrays of ``segment``, just written by this writer, from the postings
        it still holds (:func:`kb.search.segment_arrays.write`; not for small segments)."""
        if segment.doc_count_all() < segment_arrays.MIN_DOCS:
            return
        leaf = SegmentReader(self.storage, self.schema, segment)
        try:
            segment_arrays.write(self.storage.folder, leaf, self._by_field)
        finally:
            leaf.close()


def _spelling(value: str, fields: dict, vocabulary: set[str] | None) -> list[str]:
    """The words a :class:`~kb.search.schema.WordSet` field indexes for ``value``: the
    ``vocabulary`` the text fields were found to hold, when ``value`` is exactly their text (as
    :func:`kb.search.whoosh_backend.whoosh_fields` makes it) and each field's words were found;
    otherwise ``value``'s own (:func:`~kb.search.schema.vocabulary_words`)."""
    if vocabulary is not None and value == "\n".join([fields.get(name, "") for name in TEXT_FIELDS]):
        return sorted(vocabulary)
    return vocabulary_words(value)


class _BigEndianPositions(array):
    """An array of positions whose bytes are little-endian, as :class:`ArrayPositions` stores them."""

    def tobytes(self) -> bytes:
        return ArrayPositions().encode(self)


# How add_document encodes positions: array("I", positions).tobytes(), called inline (one call fewer
# for each of the 700 postings of an entry), giving little-endian bytes on any machine.
_encode_positions = array if _LITTLE_ENDIAN else _BigEndianPositions


def write_postings(fieldwriter, schema, by_field: dict[str, dict[bytes, list]], lengths, doc_count: int) -> None:
    """Write ``by_field`` (:meth:`TermPool.by_field`) through W3 ``fieldwriter``, as Whoosh's
    ``FieldWriter.add_postings`` would write the same postings sorted one by one.

    ``lengths`` is the segment's per-document reader, for the field lengths blocks record.
    """
    for fieldname in sorted(by_field):
        field = schema[fieldname]
        fieldwriter.start_field(fieldname, field)
        field_lengths = _lengths(lengths, fieldname, doc_count)
        fixed_size = field.format.fixed_value_size()
        terms = by_field[fieldname]
        for tbytes in sorted(terms):
            postings = terms[tbytes]
            fieldwriter.start_term(tbytes)
            postwriter = fieldwriter._postwriter
            limit = postwriter._blocklimit
            for start in range(0, len(postings), limit):
                block = postings[start:start + limit] if len(postings) > limit else postings
                _write_block(postwriter, block, field_lengths, fixed_size, last=start + limit >= len(postings))
            fieldwriter.finish_term()
        fieldwriter.finish_field()


def _lengths(reader, fieldname: str, doc_count: int) -> list | None:
    """Each document's length in ``fieldname`` as the codec reads it back (None: not scored)."""
    if not reader.has_column(_lenfield(fieldname)):
        return None
    return [reader.doc_field_length(docnum, fieldname) for docnum in range(doc_count)]


def _write_block(postwriter, postings: list[tuple], field_lengths: list | None, fixed_size: int | None,
                 last: bool) -> None:
    """Write one block of a term's postings to the postings file, as W3's postings writer would
    after ``add_posting`` for each (``last``: the term's final block, which it writes when the
    term is finished): the same statistics in the term's info, the same bytes in the file."""
    ids, weights, values = zip(*postings)
    # What add_posting keeps: weights as 32-bit floats, the largest weight as given, lengths.
    postwriter._ids = ids
    postwriter._weights = weights32 = array("f", weights)
    top = max(weights)
    postwriter._maxweight = top if top > 0 else 0
    known = [length for length in map(field_lengths.__getitem__, ids) if length] if field_lengths else ()
    postwriter._minlength = min(known) if known else None
    postwriter._maxlength = max(known) if known else 0
    # _write_block: the block's statistics, then the block itself, pickled.
    postfile = postwriter._postfile
    if not postwriter._blockcount:
        postfile.write(WHOOSH3_HEADER_MAGIC)
    postwriter._terminfo.add_block(postwriter)
    first = weights32[0]
    if weights32.count(first) != len(weights32):
        mini_weights = tuple(weights32)
    else:
        mini_weights = None if first == 1.0 else first
    if fixed_size is None or fixed_size < 0:
        mini_values = tuple(value for value in values if value)
    elif fixed_size == 0:
        mini_values = None
    else:
        mini_values = b"".join(value for value in values if value)
    data = dumps(((ids[0], *map(sub, ids[1:], ids)), mini_weights, mini_values), 2)
    compression = postwriter._compression
    if compression:
        data = zlib.compress(data, compression)
    info = dumps((len(ids), ids[-1], postwriter._maxweight, compression, length_to_byte(postwriter._minlength),
                  length_to_byte(postwriter._maxlength)), 2)
    length = len(info) + len(data)
    postfile.write(pack_int(-length if last else length) + info + data)
    postwriter._blockcount += 1
    postwriter._new_block()


def write_segments(ix, documents: list, procs: int = 1, *, owner=None, max_docs: int = 10_000,
                   load: Callable[[list], list[dict]] | None = None, **options) -> None:
    """Add ``documents`` (Whoosh field values) to ``ix`` as new segments of at most ``max_docs``
    documents, written by up to ``procs`` processes (one: in this process), and commit them
    together. Existing segments are kept as they are; no documents, no new segment.

    :param load: if given, ``documents`` are keys, and each process turns its share of them into
        field values with ``load`` (reading them from the database in parallel, say: a forked
        process opens connections of its own, see :mod:`kb.database`).

    :param owner: a Whoosh writer on ``ix`` that already holds its lock, and may have deleted
        documents meanwhile (a batch of updates deletes the old versions first); it is committed
        or, on failure, cancelled here. By default a writer is opened (at once or
        :class:`~whoosh.index.LockError`) and holds the lock throughout.
    :param options: for each segment's writer; by default its files are not compound and its
        postings not compressed (:data:`UNCOMPRESSED`).
    """
    options = {"compound": False, "codec": UNCOMPRESSED, **options}
    procs = max(1, min(procs, len(documents)))
    # A writing process holds its segment's postings in memory: about 1.4 GB at 10,000 entries.
    share = max(1, min(-(-len(documents) // procs), max_docs))
    parts = [documents[start:start + share] for start in range(0, len(documents), share)]
    if owner is None:
        owner = writing.SegmentWriter(ix, compound=False)  # writes no segment itself
    try:
        if procs == 1 or len(parts) <= 1 or threading.active_count() > 1:
            # One at a time, here. Forking a process that has other threads could leave a child
            # waiting for ever on a lock one of them held (only commands write this much at once).
            segments = [_write_segment(ix, load(part) if load else part, options) for part in parts]
        else:
            # Forked, so the workers share the documents without pickling them.
            context = multiprocessing.get_context("fork")
            with context.Pool(min(procs, len(parts)), initializer=_inherit,
                              initargs=(ix, parts, load, options)) as pool:
                segments = pool.map(_write_part, range(len(parts)), chunksize=1)
        owner._close_segment()
        owner._commit_toc(list(owner.segments) + segments)
        owner._finish()
    except BaseException:
        if not owner.is_closed:
            owner.cancel()
        raise


_inherited: tuple = ()


def _inherit(ix, parts, load, options) -> None:
    global _inherited
    _inherited = (ix, parts, load, options)


# In a writing process, the writer of the part it wrote last (see _write_part).
_last_writer: list = []


def _write_part(index: int):
    """Write part ``index`` in a writing process, which the pool ends once every part is written.

    The cycle collector is off: it would only walk the millions of postings a writer holds, again
    and again (a tenth of the time spent adding documents). The writer of the last part is kept,
    for the process's end to free at once rather than a posting at a time (a second); one of an
    earlier part is freed, and its cycles collected, when the next part starts.
    """
    gc.disable()
    if _last_writer:
        earlier = _last_writer.pop()
        earlier.pool = earlier._by_field = None  # its postings, freed whatever cycles hold the writer
        gc.collect()
    ix, parts, load, options = _inherited
    return _write_segment(ix, load(parts[index]) if load else parts[index], options, _last_writer)


def _write_segment(ix, documents: Iterable[dict], options: dict, keep: list | None = None):
    # Every writer of an index shares its temporary folder, which the owner's commit or cancel
    # removes: this writer only closes its files (Whoosh's own sub-writers do the same).
    writer = SegmentWriter(ix, _lk=False, **options)
    try:
        for fields in documents:
            writer.add_document(**fields)
        segment = writer._finalize_segment()
    except BaseException:
        writer._close_segment()
        raise
    writer.write_arrays(segment)
    if keep is not None:
        keep.append(writer)
    return segment
