"""Matches marked in titles, summaries and body snippets, from the stored plain text.

Only the page's hits are highlighted, and each by a regular-expression pass over its stored
text plus a cached stem per word — no re-analysis through Whoosh's highlighter, which was the
slowest part of a naive search page. Everything is escaped; ``<mark>`` is the only markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from kb.search.schema import TOKEN_PATTERN, stem_word

_WORD = re.compile(TOKEN_PATTERN)
SNIPPET_WORDS = 36
MAX_MATCHES = 200  # enough to find a good window; bounds the work on very repetitive text


def _matches(text: str, terms: frozenset[str]) -> list[re.Match]:
    if not terms:
        return []
    return [m for m in _WORD.finditer(text) if stem_word(m.group().lower()) in terms]


def _mark(text: str, matches: list[re.Match], start: int, end: int) -> Markup:
    pieces, position = [], start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        pieces.append(escape(text[position:match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % match.group())
        position = match.end()
    pieces.append(escape(text[position:end]))
    return Markup("").join(pieces)


def highlight(text: str, terms: frozenset[str]) -> Markup:
    """All of ``text``, escaped, with words whose indexed form is in ``terms`` marked."""
    return _mark(text, _matches(text, terms), 0, len(text))


def snippet(text: str, terms: frozenset[str], words: int = SNIPPET_WORDS) -> Markup | None:
    """About ``words`` words of ``text`` around its densest cluster of matches, or ``None``.

    The window chosen holds the most *different* query terms, then the most matches, so a
    snippet shows why the entry matched rather than one word repeated.
    """
    matches = _matches(text, terms)[:MAX_MATCHES]
    if not matches:
        return None
    tokens = [m for m in _WORD.finditer(text)]
    index_of = {m.start(): i for i, m in enumerate(tokens)}
    positions = [index_of[m.start()] for m in matches]
    best, best_score = 0, (-1, -1)
    for i, first in enumerate(positions):
        inside = [matches[j] for j in range(i, min(len(positions), i + words)) if positions[j] < first + words]
        score = (len({stem_word(m.group().lower()) for m in inside}), len(inside))
        if score > best_score:
            best, best_score = i, score
    first_token = max(0, positions[best] - words // 4)
    last_token = min(len(tokens) - 1, first_token + words - 1)
    start, end = tokens[first_token].start(), tokens[last_token].end()
    marked = _mark(text, matches, start, end)
    prefix = Markup("… ") if start > 0 else Markup("")
    suffix = Markup(" …") if end < len(text.rstrip()) else Markup("")
    return prefix + marked + suffix
