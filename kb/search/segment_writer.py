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

import multiprocessing
from array import array
from collections import defaultdict
from typing import Iterable

from whoosh import writing
from whoosh.codec.whoosh3 import W3Codec, _lenfield


class TermPool:
    """The postings of the segment being written, grouped by term: ``(field, term bytes)`` to a list
    of ``(document number, weight, value bytes)`` in the order added.

    Stands in for Whoosh's ``PostingPool`` (``add``, ``fieldnames``, ``cleanup``). Everything stays
    in memory, as Whoosh's pool did with the memory limit rebuilds gave it.
    """

    def __init__(self):
        self.terms: dict[tuple[str, bytes], list[tuple[int, float, bytes | None]]] = defaultdict(list)
        self.fieldnames: set[str] = set()

    def add(self, item: tuple) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        self.terms[fieldname, tbytes].append((docnum, weight, vbytes))

    def cleanup(self) -> None:
        self.terms.clear()


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
        super().add_document(**fields)
        # Whoosh's pool learns the field names as postings arrive; ours keeps them by term.
        self.pool.fieldnames.update(name for name in fields if not name.startswith("_"))

    def add_reader(self, reader):
        raise NotImplementedError("merging segments goes through Whoosh's own writer")

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = self.per_document_reader()
        try:
            write_postings(self.fieldwriter, self.schema, self.pool.terms, lengths, self.docnum)
        finally:
            lengths.close()
        self.fieldwriter.close()


def write_postings(fieldwriter, schema, terms: dict, lengths, doc_count: int) -> None:
    """Write ``terms`` (as :class:`TermPool` holds them) through W3 ``fieldwriter``, as Whoosh's
    ``FieldWriter.add_postings`` would write the same postings sorted one by one.

    ``lengths`` is the segment's per-document reader, for the field lengths blocks record.
    """
    by_field: dict[str, list[bytes]] = defaultdict(list)
    for fieldname, tbytes in terms:
        by_field[fieldname].append(tbytes)
    for fieldname in sorted(by_field):
        fieldwriter.start_field(fieldname, schema[fieldname])
        field_lengths = _lengths(lengths, fieldname, doc_count)
        for tbytes in sorted(by_field[fieldname]):
            postings = terms[fieldname, tbytes]
            fieldwriter.start_term(tbytes)
            postwriter = fieldwriter._postwriter
            limit = postwriter._blocklimit
            for start in range(0, len(postings), limit):
                if start:
                    postwriter._write_block()
                _fill_block(postwriter, postings[start:start + limit], field_lengths)
            fieldwriter.finish_term()
        fieldwriter.finish_field()


def _lengths(reader, fieldname: str, doc_count: int) -> list | None:
    """Each document's length in ``fieldname`` as the codec reads it back (None: not scored)."""
    if not reader.has_column(_lenfield(fieldname)):
        return None
    return [reader.doc_field_length(docnum, fieldname) for docnum in range(doc_count)]


def _fill_block(postwriter, postings: list[tuple], field_lengths: list | None) -> None:
    """Put one block of postings in ``postwriter``'s buffer, with the statistics its
    ``add_posting`` would have kept (maximum weight, shortest and longest document)."""
    ids = [docnum for docnum, _, _ in postings]
    weights = [weight for _, weight, _ in postings]
    postwriter._ids = array("I", ids)
    postwriter._weights = array("f", weights)
    postwriter._values = [value for _, _, value in postings if value]
    top = max(weights)
    postwriter._maxweight = top if top > 0 else 0
    known = [length for length in map(field_lengths.__getitem__, ids) if length] if field_lengths else []
    postwriter._minlength = min(known) if known else None
    postwriter._maxlength = max(known) if known else 0


def write_segments(ix, documents: list[dict], procs: int = 1, **options) -> None:
    """Add ``documents`` (Whoosh field values) to ``ix`` as up to ``procs`` new segments, each
    written by a process of its own (one: in this process), and commit them together, holding the
    index's write lock throughout. Existing segments are kept as they are; no documents, no new
    segment. ``options`` go to each segment's writer (non-compound files unless they say otherwise).
    """
    options = {"compound": False, **options}
    procs = max(1, min(procs, len(documents)))
    share = -(-len(documents) // procs)
    parts = [documents[start:start + share] for start in range(0, len(documents), share)] if documents else []
    owner = writing.SegmentWriter(ix, compound=False)  # holds the lock; writes no segment itself
    try:
        if len(parts) <= 1:
            segments = [_write_segment(ix, part, options) for part in parts]
        else:
            # Forked, so the workers share the documents without pickling them.
            context = multiprocessing.get_context("fork")
            with context.Pool(len(parts), initializer=_inherit, initargs=(ix, parts, options)) as pool:
                segments = pool.map(_write_part, range(len(parts)), chunksize=1)
        owner._close_segment()
        owner._commit_toc(list(owner.segments) + segments)
        owner._finish()
    except BaseException:
        if not owner.is_closed:
            owner.cancel()
        raise


_inherited: tuple = ()


def _inherit(ix, parts, options) -> None:
    global _inherited
    _inherited = (ix, parts, options)


def _write_part(index: int):
    ix, parts, options = _inherited
    return _write_segment(ix, parts[index], options)


def _write_segment(ix, documents: Iterable[dict], options: dict):
    # Every writer of an index shares its temporary folder, which the owner's commit or cancel
    # removes: this writer only closes its files (Whoosh's own sub-writers do the same).
    writer = SegmentWriter(ix, _lk=False, **options)
    try:
        for fields in documents:
            writer.add_document(**fields)
        return writer._finalize_segment()
    except BaseException:
        writer._close_segment()
        raise
