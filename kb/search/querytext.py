"""The reader's search text, before any search engine sees it.

Readers type words, ``"phrases"``, ``AND``/``OR``/``NOT``, brackets, ``prefix*`` and fielded
filters such as ``site:sheffield``. This module splits that text into tokens without ever
failing, however broken it is, so that the steps after it can:

* take out the fielded filters, which become ordinary filters (:func:`extract_fields`);
* tidy what no engine should see — wildcards that are not a trailing ``*``, unknown fields,
  unbalanced quotes and brackets — saying what was changed (:func:`tidy`).

Nothing here imports Whoosh; the engine-specific part is :mod:`kb.search.whoosh_query`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = frozenset({"AND", "OR", "NOT"})
MIN_PREFIX = 3

_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_FIELD = re.compile(r"^([A-Za-z_]\w*):(.*)$", re.S)
_PREFIX = re.compile(rf"^\w{{{MIN_PREFIX},}}\*$")
_WORD_CHARS = re.compile(r"\w+(?:&\w+)*")


@dataclass(frozen=True)
class Token:
    """One piece of the search text: ``kind`` is word, phrase, open, close or operator."""

    kind: str
    text: str

    def __str__(self) -> str:
        return self.text


def tokenize(text: str) -> list[Token]:
    """Split search text into tokens. Never raises; an unclosed quote runs to the end."""
    tokens = []
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if piece.startswith('"'):
            tokens.append(Token("phrase", piece if piece.endswith('"') and len(piece) > 1 else piece + '"'))
        elif piece == "(":
            tokens.append(Token("open", piece))
        elif piece == ")":
            tokens.append(Token("close", piece))
        elif piece in OPERATORS:
            tokens.append(Token("operator", piece))
        else:
            tokens.append(Token("word", piece))
    return tokens


def join(tokens: list[Token]) -> str:
    """Text for ``tokens``, one space apart."""
    return " ".join(token.text for token in tokens)


def extract_fields(text: str, names: frozenset[str]) -> tuple[str, list[tuple[str, str]]]:
    """Take ``name:value`` words for the given field ``names`` out of ``text``.

    :return: the remaining text and the ``(name, value)`` pairs in the order typed. Names are
        matched case-insensitively and returned lower-case; values are returned as typed.
    """
    kept, found = [], []
    for token in tokenize(text):
        match = _FIELD.match(token.text) if token.kind == "word" else None
        if match and match.group(1).lower() in names:
            found.append((match.group(1).lower(), match.group(2)))
        else:
            kept.append(token)
    # Text without fields comes back exactly as typed.
    return (join(kept) if found else text), found


@dataclass(frozen=True)
class Tidied:
    """Search text an engine can parse, and plain-English notes on what was changed."""

    text: str
    notices: tuple[str, ...]


def tidy(text: str) -> Tidied:
    """Make ``text`` safe to hand to a query parser, explaining every change to the reader.

    * a ``word*`` with at least three letters is a prefix search; any other ``*`` or ``?`` is
      removed (leading and inner wildcards would scan the whole vocabulary);
    * ``name:value`` for a field readers cannot use becomes the plain words;
    * brackets that do not pair up are dropped;
    * operators with nothing to join are dropped.
    """
    notices: list[str] = []
    tokens = []
    if text.count('"') % 2:
        notices.append("Your quotes did not pair up, so we closed the last quotation mark at the end of your search.")
    for token in tokenize(text):
        if token.kind == "word":
            token = _tidy_word(token, notices)
            if token is None:
                continue
        tokens.append(token)
    tokens = _balance_brackets(tokens, notices)
    tokens = _drop_dangling_operators(tokens, notices)
    return Tidied(join(tokens), tuple(dict.fromkeys(notices)))


def _tidy_word(token: Token, notices: list[str]) -> Token | None:
    text = token.text
    field = _FIELD.match(text)
    if field:
        notices.append(
            f"“{field.group(1)}:” is not something you can search by, so we looked for the words instead. "
            "You can use site:, theme:, polarity:, type:, strength: and year:."
        )
        text = f"{field.group(1)} {field.group(2)}"
    if "*" in text or "?" in text:
        if _PREFIX.match(text):
            return Token("word", text)
        stripped = text.replace("*", " ").replace("?", " ")
        if "*" in text:
            notices.append(
                f"A * only works at the end of a word of at least {MIN_PREFIX} letters, such as integrat*, "
                "so we searched without it."
            )
        text = stripped
    words = " ".join(w.lower() if w in OPERATORS else w for w in _WORD_CHARS.findall(text))
    return Token("word", words) if words else None


def _balance_brackets(tokens: list[Token], notices: list[str]) -> list[Token]:
    depth, kept, unmatched = 0, [], False
    for token in tokens:
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            if depth == 0:
                unmatched = True
                continue
            depth -= 1
        kept.append(token)
    # Drop the innermost unclosed "(" first, so "(a OR (b" keeps the first group.
    while depth:
        for i in range(len(kept) - 1, -1, -1):
            if kept[i].kind == "open":
                del kept[i]
                break
        depth -= 1
        unmatched = True
    if unmatched:
        notices.append("Your brackets did not pair up, so we ignored the ones without a partner.")
    # Empty pairs, "()" and "(())", hold nothing to search for.
    emptied = True
    while emptied:
        emptied = False
        for i in range(len(kept) - 1):
            if kept[i].kind == "open" and kept[i + 1].kind == "close":
                del kept[i:i + 2]
                emptied = True
                break
    return kept


def _drop_dangling_operators(tokens: list[Token], notices: list[str]) -> list[Token]:
    """Drop AND/OR with nothing on one side and NOT with nothing after it."""
    changed = True
    dropped = False
    while changed:
        changed = False
        for i, token in enumerate(tokens):
            if token.kind != "operator":
                continue
            before = tokens[i - 1] if i > 0 else None
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            after_ok = after is not None and (after.kind in ("word", "phrase", "open") or (after.text == "NOT" and token.text != "NOT"))
            before_ok = before is not None and before.kind in ("word", "phrase", "close")
            if token.text == "NOT":
                ok = after_ok and after.text != "NOT"
            else:
                ok = before_ok and after_ok
            if not ok:
                del tokens[i]
                changed = dropped = True
                break
    if dropped:
        notices.append("AND, OR and NOT need words on both sides (NOT needs a word after it), so we ignored the ones without.")
    return tokens


def words_of(text: str) -> list[str]:
    """The plain words of search text (no operators, fields or wildcards), lower-cased."""
    words = []
    for token in tokenize(text):
        if token.kind in ("word", "phrase"):
            words += [w.lower() for w in _WORD_CHARS.findall(token.text)]
    return words
