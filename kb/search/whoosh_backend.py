"""The embedded search backend: Whoosh, with bit-set facets and a reused searcher.

A search runs per segment: the text query becomes a bit set of matching documents (from cached
per-term postings; phrases are checked against position arrays, :mod:`kb.search.postings`), is
intersected with the reader's visibility and the active filters, and facet counts are pop-counts
against cached per-value bit sets. Only the hits are scored (BM25 over postings arrays,
:mod:`kb.search.ranking`). A search answers with the page's entry ids and the words to mark;
the search service highlights the hits' texts as it reads them from the database.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from functools import partial
from typing import Callable, Iterable, Mapping

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from kb.search import preference, ranking, segment_arrays, segment_writer, similar, spelling
from kb.search.backend import FACETS, Hit, IndexUnavailable, SearchHits, SearchRequest
from kb.search.documents import IndexDocument
from kb.search.glossary import Glossary
from kb.search.postings import Postings, bits_from_ids, mask_of, phrase_docs
from kb.search.segments import SegmentData
from kb.search.whoosh_index import READ_ERRORS, REBUILD_HINT, IndexStore, LockError, SearcherPool, merge_small_segments
from kb.search.whoosh_query import CompiledQuery, compile_query, stems_of

log = logging.getLogger(__name__)

FACET_FIELDS = {"type": "type", "site": "sites", "theme": "themes", "polarity": "polarities", "year": "year", "strength": "strength"}
STRENGTHS = ("1", "2", "3", "4", "5")
SUGGEST_BELOW = 3
PREFIX_CANDIDATES = 400
CACHE_BYTES = 1024 * 1024 * 1024  # postings, position keys, bit sets and sort orders kept between searches
# Documents per segment written by a rebuild: few enough that a writing process holds the
# segment's postings in memory (about 1.4 GB at 10,000 entries), many enough that a search has
# few segments to visit (ten at 100,000 entries).
SEGMENT_DOCS = 10_000
PARALLEL_FROM = 2_000  # below this many documents, worker processes cost more than they save


class _TimeUp(Exception):
    pass


class WhooshBackend:
    """:class:`kb.search.backend.SearchBackend` on a Whoosh index in ``store``."""

    def __init__(self, store: IndexStore, glossary: Glossary, cache_bytes: int = CACHE_BYTES,
                 index_procs: int | None = None):
        self.store = store
        self.glossary = glossary
        self.index_procs = index_procs or os.cpu_count() or 1
        self._pool = SearcherPool(store)
        # Memory-mapped per-segment arrays where written, else decoded and cached here (segments.py).
        self._segments = SegmentData(cache_bytes)
        self._similar = similar.Similar()  # related entries, kept per entry version
        self._cache = self._segments.cache

    def close(self) -> None:
        """Close open searchers and forget cached document sets."""
        self._pool.close()
        self._segments.clear()
        self._similar.clear()

    # --- reading ------------------------------------------------------------------------

    def status(self) -> str | None:
        """``None`` if the index can be searched, else what is wrong and how to fix it."""
        try:
            self._pool.get()
        except IndexUnavailable as error:
            return error.message
        return None

    def search(self, request: SearchRequest) -> SearchHits:
        """See :meth:`kb.search.backend.SearchBackend.search`."""
        searcher = self._pool.get()
        try:
            return _Search(self, searcher, request).run()
        except READ_ERRORS:
            log.exception("search failed while reading the index")
            self._pool.discard()
            raise IndexUnavailable(f"The search index cannot be read. {REBUILD_HINT}") from None

    def related(self, entry_id: int, readers: tuple[str, ...], limit: int) -> list[int]:
        """Entries most like ``entry_id`` by their key words and shared themes, visible to ``readers``.

        Worked out once per indexed version of the entry and kept (:mod:`kb.search.similar` says
        for how long, and why callers must still check each entry against the reader).
        """
        searcher = self._pool.get()
        try:
            return self._similar.related(searcher, self.store.live_path(), entry_id, readers, limit,
                                         lambda docnum: self._more_like(searcher, docnum, readers, limit))
        except READ_ERRORS:
            log.exception("related entries failed while reading the index")
            self._pool.discard()
            raise IndexUnavailable(f"The search index cannot be read. {REBUILD_HINT}") from None

    def _more_like(self, searcher: Searcher, docnum: int, readers: tuple[str, ...], limit: int) -> list[int]:
        terms = similar.scoring_terms(searcher, docnum, self._similar.frequencies)
        if not terms:
            return []
        leaves = list(_leaves(searcher))
        hits = []
        for leaf, offset in leaves:
            found = 0
            for term in terms:
                found |= self.term_bits(leaf, term.field, term.text)
            found &= self.readers_bits(leaf, readers)
            if offset <= docnum < offset + leaf.doc_count_all():
                found &= ~(1 << (docnum - offset))
            hits.append(found)
        ranked, _ = self.rank(leaves, terms, hits, limit)
        return [int(searcher.stored_fields(docnum)["id"]) for docnum in ranked]

    def rank(self, leaves: list, terms: list[ranking.ScoringTerm], hits: list[int], wanted: int,
             deadline: float = float("inf")) -> tuple[list[int], bool]:
        """The ``wanted`` best-scoring global document numbers among ``hits`` (one bit set per leaf).

        Idf and average lengths are taken over all ``leaves`` so that scores from different
        segments compare. Returns the ranking and whether every segment was ranked before
        ``deadline`` (segments left are skipped).
        """
        doc_count = sum(leaf.doc_count_all() for leaf, _ in leaves) or 1
        weights = {}
        for term in terms:
            frequency = sum(len(self.postings(leaf, term.field, term.text).ids) for leaf, _ in leaves)
            weights[(term.field, term.text)] = ranking.term_weight(term, frequency, doc_count)
        averages = {
            field: sum(leaf.field_length(field) for leaf, _ in leaves) / doc_count for field in {t.field for t in terms}
        }
        tops, complete = [], True
        for (leaf, offset), bits in zip(leaves, hits):
            if not bits:
                continue
            if time.monotonic() > deadline:
                complete = False  # rank what the segments done so far hold
                break
            top = ranking.top_of_segment(
                bits, leaf.doc_count_all(), terms,
                lambda field, text, leaf=leaf: self.postings(leaf, field, text),
                lambda field, leaf=leaf: self.lengths(leaf, field),
                weights, averages, wanted,
            )
            tops.append((offset, top))
        return ranking.merge_segments(tops, wanted), complete

    def stamps(self) -> dict[int, str]:
        """Every indexed entry id with its stamp, read from columns (no stored text is loaded)."""
        searcher = self._pool.get()
        stamps: dict[int, str] = {}
        for leaf, _offset in _leaves(searcher):
            if not leaf.doc_count_all():
                continue  # the index of an empty database: a reader with no columns to read
            ids, marks = leaf.column_reader("id"), leaf.column_reader("stamp")
            deleted = set(leaf.segment().deleted_docs() or ())
            for doc in range(leaf.doc_count_all()):
                if doc not in deleted:
                    stamps[int(ids[doc])] = marks[doc].decode()
        return stamps

    # --- per-segment caches -------------------------------------------------------------

    def postings(self, leaf, field: str, text: str) -> Postings:
        """The postings arrays of ``field:text`` in segment ``leaf`` (deleted documents included)."""
        return self._segments.postings(leaf, field, text)

    def positions(self, leaf, field: str, text: str) -> np.ndarray:
        """Position keys of ``field:text`` in segment ``leaf`` (see :func:`kb.search.postings.read_positions`)."""
        return self._segments.positions(leaf, field, text)

    def term_bits(self, leaf, field: str, text: str) -> int:
        """Documents of segment ``leaf`` containing ``field:text`` (deleted ones may remain)."""
        return self._segments.term_bits(leaf, field, text)

    def lengths(self, leaf, field: str) -> np.ndarray:
        """Every document's length in words in ``field`` of segment ``leaf``."""
        return self._segments.lengths(leaf, field)

    def live_bits(self, leaf) -> int:
        """Documents of segment ``leaf`` not deleted."""
        return self._segments.live_bits(leaf)

    def readers_bits(self, leaf, readers: tuple[str, ...]) -> int:
        """Live documents of ``leaf`` carrying any of the ``readers`` labels."""
        bits = 0
        for label in readers:
            bits |= self.term_bits(leaf, "readers", label)
        return bits & self.live_bits(leaf)

    def spell_words(self, leaf):
        """Every word (unstemmed) in segment ``leaf``, visible or not, as a container: "Did you mean" candidates."""
        return self._segments.words(leaf)

    def values(self, leaf, field: str) -> list[str]:
        """The distinct values of keyword ``field`` in segment ``leaf``."""
        return self._segments.values(leaf, field)

    def expand_prefix(self, searcher: Searcher, prefix: str) -> list[str]:
        """Indexed forms of the most common real words starting with ``prefix``."""
        return stems_of(self._segments.prefixed([leaf for leaf, _ in _leaves(searcher)], prefix, PREFIX_CANDIDATES))

    def complete(self) -> int:
        """See :meth:`kb.search.backend.SearchBackend.complete`: the segment arrays of every segment
        that has none (a new version of the layout makes the old files count as none)."""
        ix = self.store.open()
        with ix.reader() as reader:
            return segment_arrays.write_missing(ix.storage.folder, reader)

    def write_arrays(self, ix) -> None:
        """Write the memory-mapped arrays of every segment of ``ix`` that has none (see segment_arrays.py).

        Never raises for a full disk or a segment retired meanwhile: such a segment is searched
        through Whoosh instead.
        """
        try:
            with ix.reader() as reader:
                segment_arrays.write_missing(ix.storage.folder, reader)
        except READ_ERRORS as error:
            log.warning("segment arrays not written: %r", error)

    # --- writing ------------------------------------------------------------------------

    def apply(self, ids: Iterable[int], load: Callable[[list[int]], Mapping[int, IndexDocument]], *,
              wait: bool = True) -> bool:
        """See :meth:`kb.search.backend.SearchBackend.apply`. Never raises for a busy or missing index.

        :return: whether the documents were written. ``False`` means the index is missing or
            unreadable, or its lock is held by another writer (``wait=False``) or was still held
            after :data:`~kb.search.whoosh_index.LOCK_TIMEOUT`.
        """
        ids = sorted(set(ids))
        if not ids:
            return True
        try:
            ix = self.store.open()
            writer = self.store.writer(ix, wait=wait)
        except (IndexUnavailable, LockError) as error:
            if wait:
                log.warning("search index not updated for %d entries: %s", len(ids), error)
            return False
        try:
            for entry_id in ids:
                writer.delete_by_term("id", str(entry_id))
            if len(ids) >= PARALLEL_FROM:
                # A large batch (an import's) is written as a rebuild writes: new segments, with
                # their arrays, by worker processes that each load their share of the documents;
                # the lock is held and released by `writer`.
                segment_writer.write_segments(ix, ids, self.index_procs, owner=writer, max_docs=SEGMENT_DOCS,
                                              load=partial(_loaded_fields, load))
                return True
            documents = load(ids)
            for document in documents.values():
                writer.add_document(**whoosh_fields(document))
            writer.commit(mergetype=merge_small_segments)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        self.write_arrays(ix)
        return True

    def rebuild(self, documents: Iterable[IndexDocument], procs: int | None = None) -> int:
        """See :meth:`kb.search.backend.SearchBackend.rebuild`. Searches keep working meanwhile.

        Documents are written in batches of :data:`SEGMENT_DOCS` per process; each batch becomes
        segments of its own, written by ``procs`` worker processes (default: one per core) when it
        is large enough to be worth them. Segments are never merged: a merge would rewrite every
        posting in Python again, and per-segment search (bit sets, arrays) does not need it.
        """
        from whoosh import index as whoosh_index

        procs = max(1, procs or self.index_procs)
        path = self.store.new_generation()
        ix = whoosh_index.open_dir(str(path))
        count = 0
        batch: list[IndexDocument] = []
        for document in documents:
            batch.append(document)
            if len(batch) >= SEGMENT_DOCS * procs:
                count += self._write_segments(ix, batch, procs)
                batch = []
        if batch or not count:
            count += self._write_segments(ix, batch, procs)
        segment_arrays.write_all(ix, procs)
        self.store.swap_in(path)
        return count

    @staticmethod
    def _write_segments(ix, documents: list[IndexDocument], procs: int) -> int:
        procs = procs if len(documents) >= PARALLEL_FROM else 1
        segment_writer.write_segments(ix, [whoosh_fields(document) for document in documents], procs,
                                      max_docs=SEGMENT_DOCS)
        return len(documents)


def _loaded_fields(load: Callable[[list[int]], Mapping[int, IndexDocument]], ids: list[int]) -> list[dict]:
    """The Whoosh field values of the documents ``load`` finds for ``ids``."""
    return [whoosh_fields(document) for document in load(ids).values()]


def whoosh_fields(document: IndexDocument) -> dict:
    """The Whoosh field values for ``document`` (empty values are left out)."""
    values = {
        "id": str(document.id),
        "stamp": document.stamp.encode(),
        "title": document.title,
        "summary": document.summary,
        "body": document.body,
        "about": document.about,
        "spell": "\n".join((document.title, document.summary, document.body, document.about)),
        "type": document.type,
        "sites": " ".join(document.sites),
        "themes": " ".join(document.themes),
        "tags": " ".join(document.tags),
        "polarities": " ".join(document.polarities),
        "year": str(document.year) if document.year else "",
        "strength": str(document.strength) if document.strength else "",
        "readers": " ".join(document.readers),
        "published": document.published.toordinal() if document.published else 0,
        "sort_title": document.title.casefold().encode(),
    }
    return {name: value for name, value in values.items() if value != ""}


def _leaves(searcher: Searcher):
    """The searcher's segment readers with their document offsets. An index with no documents
    (no entry published yet) is one ``EmptyReader`` with no segment: it has no leaves at all."""
    return [(leaf, offset) for leaf, offset in searcher.reader().leaf_readers() if leaf.segment() is not None]


def _segment_key(leaf) -> str:
    return leaf.segment().segment_id()


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class _Search:
    """One search request against one searcher: masks, counts, page, highlights."""

    def __init__(self, backend: WhooshBackend, searcher: Searcher, request: SearchRequest):
        self.backend = backend
        self.searcher = searcher
        self.request = request
        self.deadline = time.monotonic() + request.time_budget
        self.partial = False
        self.leaves = list(_leaves(searcher))
        self.readers = [backend.readers_bits(leaf, request.readers) for leaf, _ in self.leaves]

    def run(self) -> SearchHits:
        request = self.request
        compiled = self.compile(request.text)
        notices = list(compiled.notices)
        matches = self.match(compiled)
        all_words = compiled  # what "Did you mean" must beat: entries with all of the words
        if compiled.query is not None and not any(matches) and _is_all_words(compiled):
            any_words = self.compile(request.text, any_word=True)
            any_matches = self.match(any_words)
            if any(any_matches):
                compiled, matches = any_words, any_matches
                notices.append("No entry has all of your words, so these entries have some of them.")
        filters = self.filter_masks()
        hits = [m & self.all_filters(filters, i) for i, m in enumerate(matches)]
        total = sum(h.bit_count() for h in hits)
        facets = self.facet_counts(matches, filters)
        page = self.page(compiled, hits)
        suggestion = None
        if compiled.words and not self.partial and (total < SUGGEST_BELOW or compiled is not all_words):
            # With some words found nothing, "infomation governance" still finds entries with
            # "governance": a respelling is offered if it finds more entries with all the words.
            suggestion = self.suggest(all_words, total if compiled is all_words else 0)
        if self.partial:
            notices.append("This search took too long, so these are the results found so far. Try fewer or more specific words.")
        return SearchHits(total, page, facets, notices, self.partial, suggestion, compiled.highlight)

    # --- matching -----------------------------------------------------------------------

    def compile(self, text: str, any_word: bool = False) -> CompiledQuery:
        return compile_query(text, self.backend.glossary, lambda p: self.backend.expand_prefix(self.searcher, p), any_word=any_word)

    def match(self, compiled: CompiledQuery) -> list[int]:
        """Per segment: visible documents matching the text (all visible ones when browsing)."""
        if compiled.query is None:
            return list(self.readers)
        if compiled.query is wq.NullQuery:
            return [0] * len(self.leaves)
        result = []
        for (leaf, _offset), readers, sub in zip(self.leaves, self.readers, self._subsearchers()):
            try:
                result.append(self.evaluate(compiled.query, leaf, sub, readers) & readers)
            except _TimeUp:
                self.partial = True
                result.append(0)
        return result

    def _subsearchers(self):
        return [s for s, _ in self.searcher.leaf_searchers()]

    def evaluate(self, node: wq.Query, leaf, sub: Searcher, scope: int) -> int:
        """Documents of ``leaf`` matching ``node``, within ``scope`` for the expensive parts."""
        if isinstance(node, wq.Term):
            return self.backend.term_bits(leaf, node.fieldname, node.text)
        if isinstance(node, wq.Or):
            bits = 0
            for child in node.subqueries:
                bits |= self.evaluate(child, leaf, sub, scope)
            return bits
        if isinstance(node, wq.And):
            bits = scope
            # Cheap children first, so phrases only check documents that can still match.
            for child in sorted(node.subqueries, key=lambda c: isinstance(c, wq.Phrase)):
                bits &= self.evaluate(child, leaf, sub, bits)
                if not bits:
                    break
            return bits
        if isinstance(node, wq.Not):
            return scope & ~self.evaluate(node.query, leaf, sub, scope)
        if isinstance(node, wq.AndNot):
            positive = self.evaluate(node.a, leaf, sub, scope)
            return positive & ~self.evaluate(node.b, leaf, sub, positive)
        if isinstance(node, wq.AndMaybe):
            return self.evaluate(node.a, leaf, sub, scope)
        if node is wq.NullQuery or isinstance(node, type(wq.NullQuery)):
            return 0
        if isinstance(node, wq.Phrase):
            candidates = scope
            for word in node.words:
                candidates &= self.backend.term_bits(leaf, node.fieldname, word)
                if not candidates:
                    return 0
            if node.slop != 1:  # words within N of each other ("…"~N): rare, so Whoosh checks them
                return self._verify(node, sub, candidates)
            if len(node.words) < 2:
                return candidates
            self._check_time()
            size = leaf.doc_count_all()
            words = [self.backend.positions(leaf, node.fieldname, word) for word in node.words]
            return bits_from_ids(phrase_docs(words, mask_of(candidates, size)), size)
        # Anything else the parser may produce: let Whoosh find the documents.
        return self._verify(node, sub, scope)

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _TimeUp

    def _verify(self, node: wq.Query, sub: Searcher, candidates: int) -> int:
        """Documents among ``candidates`` that Whoosh's own matcher accepts (time-bounded)."""
        matcher = node.matcher(sub)
        found = bytearray((candidates.bit_length() + 7) >> 3 or 1)
        candidate_bytes = candidates.to_bytes(len(found), "little")
        steps = 0
        while matcher.is_active():
            doc = matcher.id()
            index = doc >> 3
            if index < len(candidate_bytes) and candidate_bytes[index] >> (doc & 7) & 1:
                found[index] |= 1 << (doc & 7)
            steps += 1
            if steps & 1023 == 1 and time.monotonic() > self.deadline:
                raise _TimeUp
            matcher.next()
        return int.from_bytes(found, "little")

    # --- filters and facets -------------------------------------------------------------

    def filter_masks(self) -> dict[str, list[int] | None]:
        """Per active filter, per segment, the documents it allows."""
        chosen = self.request.filters
        backend = self.backend
        masks: dict[str, list[int] | None] = {name: None for name in FACETS}
        theme, polarity = chosen.get("theme"), chosen.get("polarity")
        for name in ("type", "site", "year"):
            if chosen.get(name):
                masks[name] = [backend.term_bits(leaf, FACET_FIELDS[name], str(chosen[name])) for leaf, _ in self.leaves]
        if theme and polarity:
            tag = f"{theme}:{polarity}"
            masks["theme"] = masks["polarity"] = [backend.term_bits(leaf, "tags", tag) for leaf, _ in self.leaves]
        elif theme:
            masks["theme"] = [backend.term_bits(leaf, "themes", str(theme)) for leaf, _ in self.leaves]
        elif polarity:
            masks["polarity"] = [backend.term_bits(leaf, "polarities", str(polarity)) for leaf, _ in self.leaves]
        if chosen.get("strength"):
            masks["strength"] = [self._at_least(leaf, int(chosen["strength"])) for leaf, _ in self.leaves]
        return masks

    def _at_least(self, leaf, strength: int) -> int:
        bits = 0
        for value in STRENGTHS[strength - 1:]:
            bits |= self.backend.term_bits(leaf, "strength", value)
        return bits

    @staticmethod
    def all_filters(masks: dict[str, list[int] | None], segment: int, leave_out: tuple[str, ...] = ()) -> int:
        bits = -1
        for name, mask in masks.items():
            if mask is not None and name not in leave_out:
                bits &= mask[segment]
        return bits

    def facet_counts(self, matches: list[int], masks: dict[str, list[int] | None]) -> dict[str, dict[str, int]]:
        """For each facet value, how many results there would be with it chosen instead."""
        chosen = self.request.filters
        backend = self.backend
        counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        theme, polarity = chosen.get("theme"), chosen.get("polarity")
        for i, (leaf, _) in enumerate(self.leaves):
            for name in FACETS:
                # Theme and polarity chosen together filter one tag, so each facet drops both.
                own = ("theme", "polarity") if theme and polarity and name in ("theme", "polarity") else (name,)
                base = matches[i] & self.all_filters(masks, i, leave_out=own)
                if not base:
                    continue
                bucket = counts[name]
                if name == "strength":
                    for value in STRENGTHS:
                        n = (base & self._at_least(leaf, int(value))).bit_count()
                        if n:
                            bucket[value] = bucket.get(value, 0) + n
                    continue
                if name == "theme" and polarity:
                    field, values = "tags", [v for v in backend.values(leaf, "tags") if v.endswith(f":{polarity}")]
                elif name == "polarity" and theme:
                    field, values = "tags", [v for v in backend.values(leaf, "tags") if v.startswith(f"{theme}:")]
                else:
                    field = FACET_FIELDS[name]
                    values = backend.values(leaf, field)
                for value in values:
                    n = (base & backend.term_bits(leaf, field, value)).bit_count()
                    if n:
                        label = value.split(":")[0 if name == "theme" else 1] if field == "tags" else value
                        bucket[label] = bucket.get(label, 0) + n
        return counts

    # --- the page -----------------------------------------------------------------------

    def page(self, compiled: CompiledQuery, hits: list[int]) -> list[Hit]:
        request = self.request
        wanted = request.offset + request.limit
        sort = request.sort
        if sort == "relevance" and (compiled.query is None or compiled.query is wq.NullQuery):
            sort = "newest"
        if sort == "strength":
            ranked = compiled.query is not None and compiled.query is not wq.NullQuery
            tiers = [[self.backend.term_bits(leaf, "strength", value) for leaf, _ in self.leaves]
                     for value in reversed(STRENGTHS)]
            docnums = ranking.in_tiers(hits, tiers, wanted, lambda bits, n: (
                self._ranked(compiled.query, bits, n) if ranked else self._sorted(bits, "newest", n)))[request.offset:]
        elif sort == "relevance" and request.prefer:
            # Entries tagged with what the question asks about first (kb/search/preference.py).
            tiers = preference.tiers(self.backend.term_bits, self.leaves, request.prefer)
            docnums = ranking.in_tiers(hits, tiers, wanted, lambda bits, n: self._ranked(compiled.query, bits, n))[request.offset:]
        elif sort == "relevance":
            docnums = self._ranked(compiled.query, hits, wanted)[request.offset:]
        else:
            docnums = self._sorted(hits, sort, wanted)[request.offset:]
        return [Hit(self._entry_id(docnum)) for docnum in docnums]

    def _ranked(self, query: wq.Query, hits: list[int], wanted: int) -> list[int]:
        """The ``wanted`` best-scoring global document numbers among ``hits`` (per segment)."""
        ranked, complete = self.backend.rank(self.leaves, ranking.scoring_terms(query), hits, wanted, self.deadline)
        self.partial = self.partial or not complete
        return ranked

    def _sorted(self, hits: list[int], sort: str, wanted: int) -> list[int]:
        runs = []
        for (leaf, offset), bits in zip(self.leaves, hits):
            if not bits:
                continue
            local = self.backend._segments.first_in_order(leaf, bits, sort, wanted)
            keys = self.backend._segments.sort_keys(leaf, sort, local)
            runs.append([(key, doc + offset) for key, doc in zip(keys, local)])
        return [doc for _, doc in heapq.merge(*runs)][:wanted]

    def _entry_id(self, docnum: int) -> int:
        """The entry id of global document ``docnum``: from its segment's arrays, where reading
        Whoosh's stored fields would decompress the document's whole text for one number."""
        for leaf, offset in reversed(self.leaves):
            if docnum >= offset:
                arrays = self.backend._segments.arrays(leaf)
                if arrays is not None:
                    return int(arrays.entry_ids()[docnum - offset])
                break
        return int(self.searcher.stored_fields(docnum)["id"])

    # --- "Did you mean" -----------------------------------------------------------------

    def suggest(self, compiled: CompiledQuery, total: int) -> str | None:
        """A respelling of the reader's words that finds more of what they may read, or ``None``."""
        backend = self.backend

        vocabularies = [backend.spell_words(leaf) for leaf, _ in self.leaves]

        def visible(word: str) -> int:
            # Most candidates are not words at all: a set lookup rules them out before any bits.
            return sum(
                (backend.term_bits(leaf, "spell", word) & readers).bit_count()
                for (leaf, _), readers, words in zip(self.leaves, self.readers, vocabularies)
                if word in words
            )

        respelled = spelling.respell(self.request.text, compiled.words, visible)
        if respelled is None:
            return None
        better = self.compile(respelled)
        masks = self.filter_masks()
        found = sum((m & self.all_filters(masks, i)).bit_count() for i, m in enumerate(self.match(better)))
        return respelled if found > total else None


def _is_all_words(compiled: CompiledQuery) -> bool:
    return len(compiled.words) >= 2 and not compiled.has_operators


