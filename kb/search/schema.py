"""The Whoosh schema and the one analyzer every text field, query and snippet shares.

Design choices, each measured (see docs/benchmarks.md):

* English stemming, with a token pattern that keeps ``A&E`` as one word (Whoosh's default
  would split it into two single letters and drop both);
* title and summary weigh more than the body; site names, theme names and notes and outcome
  measures sit in ``about``;
* ``body`` stores the plain text for related entries' key words (search results take theirs,
  for snippets, from the database's ``Entry.body_text``);
* ``spell`` holds unstemmed words (presence only) for prefix expansion and "Did you mean";
* filter and facet values are untokenised keywords, counted from cached per-value doc sets;
* text fields store positions as plain arrays of 32-bit integers (:class:`ArrayPositions`) so
  phrase checks can read a term's positions for every document at once (:mod:`kb.search.postings`),
  and index text through :func:`positions_of`, which gives what the analyzer gives without
  building a token object per word (analysis was half of the indexing time).
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import defaultdict
from functools import lru_cache

from whoosh import fields, formats
from whoosh.analysis import STOP_WORDS, Filter, LowercaseFilter, RegexTokenizer, SpaceSeparatedTokenizer, StopFilter
from whoosh.lang.porter2 import stem

TOKEN_PATTERN = r"\w+(?:&\w+)*"
_WORD = re.compile(TOKEN_PATTERN)

TEXT_FIELDS = ("title", "summary", "body", "about")
FIELD_BOOSTS = {"title": 4.0, "summary": 2.0, "body": 1.0, "about": 1.5}
FACET_FIELDS = ("type", "sites", "themes", "tags", "polarities", "year", "strength")


def text_analyzer():
    """Tokenise on words (keeping ``A&E``), lower-case, drop stop words, stem (Porter2)."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | StopFilter(minsize=2) | WordStemFilter()


def word_analyzer():
    """Words as typed, lower-cased and unstemmed: the vocabulary for prefixes and spelling.

    Only used if Whoosh itself analyses ``spell`` text; indexing goes through :class:`WordSet`,
    which reads the distinct words with :func:`vocabulary`.
    """
    return SpaceSeparatedTokenizer()


def vocabulary(*texts: str) -> str:
    """The distinct lower-case words of ``texts`` (at least two characters), space-separated."""
    return " ".join(vocabulary_words(*texts))


def vocabulary_words(*texts: str) -> list[str]:
    """:func:`vocabulary` as a sorted list of words."""
    words = set()
    for text in texts:
        words.update(_WORD.findall(text.lower()))
    words.difference_update(STOP_WORDS)
    return sorted(w for w in words if len(w) > 1)


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """The indexed form of one lower-case word: its Porter2 stem, but ``a&e`` stays ``a&e``.

    Porter2, because Whoosh's original Porter stemmer skips two of Porter's rules (it uses
    ``re.match`` where ``re.search`` is meant), so "integrating" and "integration" differ.
    """
    return word if "&" in word else stem(word)


def positions_of(text: str) -> dict[str, list[int]]:
    """Each indexed form in ``text`` with its positions: exactly what :func:`text_analyzer` yields.

    Same pattern, lower-casing, stop words (and words under two characters) and stems; positions
    count only kept words, except that the first kept word keeps its place among all words, as
    Whoosh's StopFilter numbers them. ``tests/unit/test_search_postings.py`` holds the two to each other.
    """
    return positions_and_words(text)[0]


def positions_and_words(text: str) -> tuple[dict[str, list[int]], set[str] | None]:
    """:func:`positions_of` ``text``, and the distinct words it kept before stemming — which are
    :func:`vocabulary_words` of ``text`` — or None where those must be found on their own."""
    lowered = text.lower()
    # The analyzer lower-cases word by word. The whole text at once gives the same words unless a
    # character's lower case is longer (İ) or depends on what follows it (a final Σ).
    if len(lowered) != len(text) or "\u03a3" in text:
        return _positions_word_by_word(text), None
    words = _WORD.findall(lowered)
    kept = [word for word in words if len(word) > 1 and word not in STOP_WORDS]
    if not kept:
        return {}, set()
    first = next(raw for raw, word in enumerate(words) if len(word) > 1 and word not in STOP_WORDS)
    positions: defaultdict[str, list[int]] = defaultdict(list)
    for position, form in enumerate(map(stem_word, kept), first):
        positions[form].append(position)
    return positions, set(kept)


def _positions_word_by_word(text: str) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    position = -1
    first = True
    for raw, token in enumerate(_WORD.findall(text)):
        word = token.lower()
        if len(word) < 2 or word in STOP_WORDS:
            continue
        position = raw if first else position + 1
        first = False
        positions.setdefault(stem_word(word), []).append(position)
    return positions


class ArrayPositions(formats.Positions):
    """Whoosh's positions format, stored as little-endian 32-bit integers, analysed fast.

    Whoosh stores positions as pickled lists of gaps, which must be unpickled one document at a
    time; an array of integers can be read for all documents of a term in one step.
    """

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for form, positions in positions_of(value).items():
            yield form, len(positions), len(positions) * boost, self.encode(positions)

    def encode(self, poslist) -> bytes:
        values = array("I", poslist)
        if sys.byteorder == "big":
            values.byteswap()
        return values.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        values = array("I")
        values.frombytes(valuestring)
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

    def combine(self, vs):
        return self.encode(sorted({p for v in vs for p in self.decode_positions(v)}))


class WordSet(formats.Existence):
    """Presence-only postings for ``spell``: the distinct words of the text given, as typed.

    The field is given the entry's whole text and finds its words here, in the indexing process,
    rather than being handed a word list built beforehand: with a parallel rebuild this runs in
    the worker processes.
    """

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(value, str):
            return super().word_values(value, analyzer, **kwargs)
        boost = self.field_boost
        return ((word, 1, boost, b"") for word in vocabulary_words(value))


class WordStemFilter(Filter):
    """Stem each token with :func:`stem_word` (Whoosh's StemFilter would turn ``a&e`` into ``a&``)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = stem_word(token.text)
            yield token


def _text_field(name: str, stored: bool) -> fields.TEXT:
    field = fields.TEXT(analyzer=text_analyzer(), field_boost=FIELD_BOOSTS[name], stored=stored)
    field.format = ArrayPositions(field_boost=FIELD_BOOSTS[name])
    return field


def build_schema() -> fields.Schema:
    """The schema of the entries index."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        stamp=fields.COLUMN(fields.columns.VarBytesColumn()),
        title=_text_field("title", stored=True),
        summary=_text_field("summary", stored=True),
        body=_text_field("body", stored=True),
        about=_text_field("about", stored=False),
        spell=fields.FieldType(WordSet(), analyzer=word_analyzer(), scorable=False),
        type=fields.ID(),
        sites=fields.KEYWORD(),
        themes=fields.KEYWORD(stored=True),
        tags=fields.KEYWORD(),
        polarities=fields.KEYWORD(),
        year=fields.ID(),
        strength=fields.ID(),
        readers=fields.KEYWORD(),
        # Sort keys as columns: read once per segment, never per query.
        published=fields.NUMERIC(sortable=True, bits=32),
        sort_title=fields.COLUMN(fields.columns.VarBytesColumn()),
    )
