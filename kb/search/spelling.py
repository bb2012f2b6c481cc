"""“Did you mean”: respell the reader's words from the vocabulary they may see.

Candidates are every word one edit away (a letter deleted, swapped, changed or added) that is
in the index's unstemmed vocabulary; the one found in the most entries the reader may read
wins. Checking a few hundred candidate words against the term dictionary is fast at any index
size, where Whoosh's own corrector walks the whole vocabulary.

Only words no visible entry contains are respelled, in place, so a misspelling inside a longer
search keeps the other words ("infomation governance" → "information governance"); the search
offers it whenever some words found nothing, even if the others found entries on their own.
"""

from __future__ import annotations

import re
from typing import Callable

LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4
MAX_LENGTH = 30


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in LETTERS]
    inserts = [a + c + b for a, b in splits for c in LETTERS]
    return set(deletes + transposes + replaces + inserts) - {word}


def respell(text: str, words: tuple[str, ...], visible: Callable[[str], int]) -> str | None:
    """``text`` with each word the reader may not find replaced by its best visible neighbour.

    :param words: the reader's words, lower-case.
    :param visible: how many entries the reader may read contain a given (unstemmed) word.
    :return: the respelled text, or ``None`` if no word could be improved.
    """
    replacements: dict[str, str] = {}
    for word in dict.fromkeys(words):
        if not (MIN_LENGTH <= len(word) <= MAX_LENGTH) or not word.isalpha() or visible(word):
            continue
        scored = [(visible(candidate), candidate) for candidate in edits1(word)]
        count, best = max(scored, default=(0, ""))
        if count:
            replacements[word] = best
    if not replacements:
        return None
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, replacements)) + r")\b", re.IGNORECASE)
    return pattern.sub(lambda m: replacements[m.group().lower()], text)
