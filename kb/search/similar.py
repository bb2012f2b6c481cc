"""Entries like a given one — the "Related entries" of an entry page — worked out once per version.

Finding them is a more-like-this search: the entry's most telling words (:func:`key_terms`) and
its themes, ranked with BM25 over every document the reader's labels reach. That costs tens of
milliseconds at 10,000 entries, most of it looking words up in the index, so :class:`Similar`
keeps each answer, and an entry page asks for it again only when the entry has a new version.

What a kept answer is keyed by, and what that means for freshness:

* the index generation (the live index folder, new at every rebuild) and the entry's *indexed
  document* (its segment and document number: a save writes a new document, so every new
  version of the entry, or change of its status or visibility, is worked out afresh);
* the reader labels asked for and the number wanted: an anonymous reader's answer is never the
  one worked out for signed-in members.

Entries published, made public or added *after* an answer was kept do not join it until the
entry's next version, the next rebuild, or the answer's eviction (the cache is per process and
bounded). Entries named in a kept answer that have since been deleted, archived or made
network-only are still named: callers must check that the reader may see each one
(:func:`kb.services.search.similar_entries` loads them and checks every one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Hashable

from whoosh import classify
from whoosh.searching import Searcher

from kb.search import ranking

KEY_TERMS = 12
TEXT_CHARS = 20_000  # of the body, enough for its key words; whole bodies can be far longer
THEME_BOOST = 0.5
ANSWERS = 20_000  # kept answers per process: one per entry and reader label set at 10,000 entries
# Term frequencies remembered per process, over all live segments; past this they start again.
# Looking a term up in a Whoosh segment costs ~0.1 ms in Python, and an entry has ~300 terms.
FREQUENCIES = 500_000  # about 50 MB at most


def key_terms(searcher: Searcher, field: str, text: str, number: int = KEY_TERMS,
              frequencies: Callable[[list, str], Callable[[bytes], int]] | None = None) -> list[tuple[str, float]]:
    """The ``number`` most telling terms of ``text`` for ``field``, best first, with their weights.

    The same answer as Whoosh's ``searcher.key_terms_from_text(field, text, number)`` (its Bo1
    expansion model), with each term's occurrences in the index counted by
    ``frequencies(leaves, field)(term)`` — by default by asking each segment, which costs about
    0.1 ms a term in Python; :meth:`Similar.frequencies` remembers the answers.
    """
    reader = searcher.reader()
    expander = classify.Expander(reader, field)  # Bo1, with N and field length as Whoosh takes them
    expander.add_text(text)
    model, total = expander.model, expander.top_total
    to_bytes = reader.schema[field].to_bytes
    occurrences = (frequencies or _asking_segments)([leaf for leaf, _offset in reader.leaf_readers()], field)
    scored = []
    for word, weight in expander.topN_weight.items():
        cf = occurrences(to_bytes(word))
        if cf:  # a word of the text that is not in the index (Whoosh skips these too)
            scored.append((model.score(weight, cf, total), word))
    if not scored:
        return []
    norm = model.normalizer(max(score for score, _ in scored), total)
    ranked = sorted(((score / norm, word) for score, word in scored), key=lambda item: (-item[0], item[1]))
    return [(word, weight) for weight, word in ranked[:number]]


def _asking_segments(leaves: list, field: str) -> Callable[[bytes], int]:
    return lambda term: sum(leaf.frequency(field, term) for leaf in leaves)


def scoring_terms(searcher: Searcher, docnum: int,
                  frequencies: Callable[[list, str], Callable[[bytes], int]] | None = None) -> list[ranking.ScoringTerm]:
    """What a document is like: its key words in titles and bodies, and its themes."""
    stored = searcher.stored_fields(docnum)
    text = " ".join([stored.get("title", ""), stored.get("summary", ""), stored.get("body", "")[:TEXT_CHARS]])
    terms = [ranking.ScoringTerm(field, term, weight)
             for term, weight in key_terms(searcher, "body", text, frequencies=frequencies) for field in ("title", "body")]
    terms += [ranking.ScoringTerm("themes", slug, THEME_BOOST) for slug in stored.get("themes", "").split()]
    return terms


class Similar:
    """Answers of :meth:`kb.search.whoosh_backend.WhooshBackend.related`, kept per entry version.

    A thread-safe least-recently-used map of at most ``capacity`` answers (lists of entry ids);
    see the module's docstring for the key and what it means for freshness. It also remembers
    the frequencies of the terms it has looked up, per segment (:meth:`frequencies`), so that an
    entry never seen before costs few index look-ups once others have been.
    """

    def __init__(self, capacity: int = ANSWERS, frequencies: int = FREQUENCIES):
        self._capacity = capacity
        self._answers: OrderedDict[Hashable, list[int]] = OrderedDict()
        self._lock = threading.Lock()
        self._frequency_limit = frequencies
        self._frequencies: dict[tuple[str, str], dict[bytes, int]] = {}  # (segment id, field) -> term -> occurrences

    def frequencies(self, leaves: list, field: str) -> Callable[[bytes], int]:
        """A function giving a term's occurrences in ``field`` over ``leaves`` (deleted documents
        included, as Whoosh counts them), remembering each segment's answers.

        Segments never change once written, so a remembered count stays true for as long as the
        segment exists; counts of segments merged away go when the memory is full.
        """
        with self._lock:
            if sum(len(table) for table in self._frequencies.values()) >= self._frequency_limit:
                self._frequencies.clear()
            tables = [(leaf, self._frequencies.setdefault((leaf.segment().segment_id(), field), {}))
                      for leaf in leaves]

        def occurrences(term: bytes) -> int:
            total = 0
            for leaf, table in tables:
                found = table.get(term)  # one dict read or write is atomic: no lock needed
                if found is None:
                    found = table[term] = leaf.frequency(field, term)
                total += found
            return total

        return occurrences

    def related(self, searcher: Searcher, generation: Path | None, entry_id: int, readers: tuple[str, ...],
                limit: int, work_out: Callable[[int], list[int]]) -> list[int]:
        """Ids of up to ``limit`` entries like ``entry_id`` for ``readers``: kept, or ``work_out(docnum)``.

        ``work_out`` is given the entry's global document number in ``searcher``; nothing is
        kept for an entry the index does not hold (its answer is ``[]``).
        """
        docnum = searcher.document_number(id=str(entry_id))
        if docnum is None:
            return []
        segment, local = _place(searcher, docnum)
        key = (str(generation), segment, local, entry_id, tuple(sorted(readers)), limit)
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
                return list(answer)
        answer = work_out(docnum)  # outside the lock: two threads may both work one out, harmlessly
        with self._lock:
            self._answers[key] = list(answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
        return answer

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)

    def clear(self) -> None:
        """Forget every kept answer."""
        with self._lock:
            self._answers.clear()
            self._frequencies.clear()


def _place(searcher: Searcher, docnum: int) -> tuple[str, int]:
    """The segment holding global document ``docnum``, and its number there."""
    for leaf, offset in searcher.reader().leaf_readers():
        if offset <= docnum < offset + leaf.doc_count_all():
            return leaf.segment().segment_id(), docnum - offset
    raise IndexError(f"document {docnum} is in no segment")
