"""The Whoosh schema and the one analyzer every text field, query and snippet shares.

Design choices, each measured (see docs/benchmarks.md):

* English stemming, with a token pattern that keeps ``A&E`` as one word (Whoosh's default
  would split it into two single letters and drop both);
* title and summary weigh more than the body; site names, theme names and notes and outcome
  measures sit in ``about``;
* ``body`` stores the plain text so snippets come from the index, not from re-rendering Markdown;
* ``spell`` holds unstemmed words (presence only) for prefix expansion and "Did you mean";
* filter and facet values are untokenised keywords, counted from cached per-value doc sets.
"""

from __future__ import annotations

from functools import lru_cache

from whoosh import fields, formats
import re

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

    Documents give this field their distinct words already lower-cased (see :func:`vocabulary`),
    so it only splits on spaces; running the full analyzer over the body a second time would
    double the cost of indexing.
    """
    return SpaceSeparatedTokenizer()


def vocabulary(*texts: str) -> str:
    """The distinct lower-case words of ``texts`` (at least two characters), space-separated."""
    words = set()
    for text in texts:
        words.update(_WORD.findall(text.lower()))
    return " ".join(sorted(w for w in words if len(w) > 1 and w not in STOP_WORDS))


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """The indexed form of one lower-case word: its Porter2 stem, but ``a&e`` stays ``a&e``.

    Porter2, because Whoosh's original Porter stemmer skips two of Porter's rules (it uses
    ``re.match`` where ``re.search`` is meant), so "integrating" and "integration" differ.
    """
    return word if "&" in word else stem(word)


class WordStemFilter(Filter):
    """Stem each token with :func:`stem_word` (Whoosh's StemFilter would turn ``a&e`` into ``a&``)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = stem_word(token.text)
            yield token


def build_schema() -> fields.Schema:
    """The schema of the entries index."""
    analyzer = text_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        stamp=fields.COLUMN(fields.columns.VarBytesColumn()),
        title=fields.TEXT(analyzer=analyzer, field_boost=FIELD_BOOSTS["title"], stored=True),
        summary=fields.TEXT(analyzer=analyzer, field_boost=FIELD_BOOSTS["summary"], stored=True),
        body=fields.TEXT(analyzer=analyzer, stored=True),
        about=fields.TEXT(analyzer=analyzer, field_boost=FIELD_BOOSTS["about"]),
        spell=fields.FieldType(formats.Existence(), analyzer=word_analyzer(), scorable=False),
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
