"""The one rule for text that people type: which characters it may hold.

Typed text (names, addresses, summaries, notes, Markdown) may hold any character a person can
see, plus the whitespace its kind of field allows:

* **multi-line** text (a textarea) may hold tabs and line breaks (``\\n``, and the ``\\r`` that
  browsers send before it);
* **one-line** text (an input) may hold none of these, nor the Unicode line and paragraph
  separators (U+2028, U+2029).

Neither may hold control characters (Unicode category ``Cc``: NUL, escape, the C1 controls…) or
lone surrogates (``Cs``). They are invisible, mean nothing in text, garble pages, logs and
emails, and a NUL cannot even be stored in PostgreSQL (psycopg refuses it in any parameter).

This module is a leaf (standard library only), so forms, services and the content importer
can all apply the same rule: :func:`problem` says what is wrong in words that follow a field's
label, and :func:`clean` removes what is not allowed (for showing a refused value back to the
person who typed it).
"""

from __future__ import annotations

import re
import unicodedata

_LINE_SEPARATORS = "\u2028\u2029"
_MULTI_LINE_ALLOWED = frozenset("\t\n\r")

SINGLE_LINE_PROBLEM = "must be one line of text without control characters"
MULTI_LINE_PROBLEM = "must not contain control characters"

# A fast pre-check: text without any of these characters needs no closer look.
_SUSPECT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _allowed(char: str, multiline: bool) -> bool:
    if multiline and char in _MULTI_LINE_ALLOWED:
        return True
    if char in _LINE_SEPARATORS:
        return multiline
    return unicodedata.category(char) not in ("Cc", "Cs")


def disallowed(text: str, *, multiline: bool = False) -> list[str]:
    """The characters of ``text`` that typed text of this kind may not hold, in order of appearance
    (each once); an empty list when ``text`` is acceptable."""
    if not _SUSPECT.search(text):
        return []
    found: dict[str, None] = {}
    for char in text:
        if not _allowed(char, multiline):
            found.setdefault(char)
    return list(found)


def problem(text: str, *, multiline: bool = False) -> str | None:
    """What is wrong with ``text`` as typed text, in words that follow the field's label
    (``"Name " + problem(...)``), or None when it is acceptable.

    ``multiline=True`` for text from a textarea (Markdown, notes): tabs and line breaks are
    allowed there. Anything that is not a ``str`` is not typed text: a problem too.
    """
    if not isinstance(text, str):
        return "must be text"
    if disallowed(text, multiline=multiline):
        return MULTI_LINE_PROBLEM if multiline else SINGLE_LINE_PROBLEM
    return None


def clean(text: str, *, multiline: bool = False) -> str:
    """``text`` without the characters :func:`problem` objects to (for showing refused input back)."""
    bad = set(disallowed(text, multiline=multiline))
    return "".join(char for char in text if char not in bad) if bad else text
