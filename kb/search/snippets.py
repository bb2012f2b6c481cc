"""Matches marked in titles, summaries and body snippets, from their plain text.

Only the page's hits are highlighted, and each by a regular-expression pass over its stored
text plus a cached stem per word — no re-analysis through Whoosh's highlighter, which was the
slowest part of a naive search page. Everything is escaped; ``<mark>`` is the only markup.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from kb.search.schema import TOKEN_PATTERN, stem_word

_WORD = re.compile(TOKEN_PATTERN)
SNIPPET_CHARS = 240
MAX_MATCHES = 200  # enough to find a good window; bounds the work on very repetitive text


@lru_cache(maxsize=1024)
def _candidates(terms: frozenset[str]) -> re.Pattern:
    # A Porter stem is the start of its words, except that a final "y" becomes "i" ("happy" ->
    # "happi"). Finding words that start with a stem is a C-speed scan; only those are stemmed.
    alternatives = sorted((re.escape(t[:-1]) + "[iy]" if t.endswith("i") else re.escape(t) for t in terms), key=len, reverse=True)
    return re.compile(r"(?<![\w&])(?:" + "|".join(alternatives) + r")(?:\w|&\w)*", re.IGNORECASE)


def _matches(text: str, terms: frozenset[str]) -> list[re.Match]:
    return [match for match, _stem in _matches_and_stems(text, terms)]


def _matches_and_stems(text: str, terms: frozenset[str]) -> list[tuple[re.Match, str]]:
    """Every word of ``text`` whose indexed form is in ``terms``, in order, with that form."""
    if not terms:
        return []
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: positions would shift
        return [(m, stem_word(m.group().lower())) for m in _matches_by_pattern(text, terms)]
    # Where a stem starts a word: str.find runs at memory speed, where the pattern of every stem
    # tried at every character was the slowest part of a warm search page.
    starts = set()
    for stem, either in _prefixes(terms):
        position = lowered.find(stem)
        while position >= 0:
            after = position + len(stem)
            if (not position or not _in_word(lowered[position - 1])) and (
                    not either or lowered[after:after + 1] in ("i", "y")):
                starts.add(position)
            position = lowered.find(stem, position + 1)
    found = []
    for position in sorted(starts):
        match = _REST_OF_WORD.match(text, position)
        if match is not None:
            stem = _stem_as_written(match.group())
            if stem in terms:
                found.append((match, stem))
    return found


@lru_cache(maxsize=100_000)
def _stem_as_written(word: str) -> str:
    # stem_word of the word in lower case, remembered as written: a results page stems some
    # 300 words, nearly all met before, and lower-casing each first cost as much as the lookup.
    return stem_word(word.lower())


def _matches_by_pattern(text: str, terms: frozenset[str]) -> list[re.Match]:
    return [m for m in _candidates(terms).finditer(text) if stem_word(m.group().lower()) in terms]


_REST_OF_WORD = re.compile(r"(?:\w|&\w)+")


def _in_word(character: str) -> bool:
    return character.isalnum() or character in "_&"  # what the pattern's (?<![\w&]) rules out


@lru_cache(maxsize=1024)
def _prefixes(terms: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    # (start of the word, whether an "i" or "y" must follow): as in _candidates.
    return tuple((t[:-1], True) if t.endswith("i") else (t, False) for t in terms)


def _mark(text: str, matches: list[re.Match], start: int, end: int) -> Markup:
    # Most plain text has nothing to escape: then it is not escaped piece by piece (a snippet and
    # two highlights per hit made some 200 escape calls a page).
    plain = _ESCAPED.search(text, start, end) is None
    pieces, position = [], start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        between, word = text[position:match.start()], match.group()
        pieces += (between, "<mark>", word, "</mark>") if plain else (escape(between), "<mark>", escape(word), "</mark>")
        position = match.end()
    pieces.append(text[position:end] if plain else escape(text[position:end]))
    return Markup("".join(pieces))


_ESCAPED = re.compile(r"[&<>\"']")  # what markupsafe.escape replaces


def highlight(text: str, terms: frozenset[str]) -> Markup:
    """All of ``text``, escaped, with words whose indexed form is in ``terms`` marked."""
    return _mark(text, _matches(text, terms), 0, len(text))


def snippet(text: str, terms: frozenset[str], length: int = SNIPPET_CHARS) -> Markup | None:
    """About ``length`` characters of ``text`` around its densest cluster of matches, or ``None``.

    The window chosen holds the most *different* query terms, then the most matches, so a
    snippet shows why the entry matched rather than one word repeated. Windows are measured in
    characters and widened to whole words, so only the matches themselves are ever examined.
    """
    found = _matches_and_stems(text, terms)[:MAX_MATCHES]
    if not found:
        return None
    # Slide a window over the matches, counting its different stems.
    matches, stems = [m for m, _ in found], [stem for _, stem in found]
    counts: dict[str, int] = {}
    best, best_score, end_index = 0, (-1, -1), 0
    for i, first in enumerate(matches):
        if end_index <= i:
            counts.clear()
            end_index = i
        limit = first.start() + length
        while end_index < len(matches) and matches[end_index].end() <= limit:
            counts[stems[end_index]] = counts.get(stems[end_index], 0) + 1
            end_index += 1
        score = (len(counts), end_index - i)
        if score > best_score:
            best, best_score = i, score
        if end_index > i:
            counts[stems[i]] -= 1
            if not counts[stems[i]]:
                del counts[stems[i]]
    start = max(0, matches[best].start() - length // 5)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < matches[best].start() else matches[best].start()
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > matches[best].end() else end
    if not _WORD.search(text, end):
        end = len(text)  # only punctuation is left: show it rather than "…"
    marked = _mark(text, matches, start, end)
    prefix = Markup("… ") if start > 0 else Markup("")
    suffix = Markup(" …") if end < len(text.rstrip()) else Markup("")
    return prefix + marked + suffix
