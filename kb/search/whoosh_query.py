"""Turn the reader's search text into a Whoosh query, without ever raising.

The text is first tidied (:func:`kb.search.querytext.tidy`), question and filler words ("what",
"how", "helped" …) are left out (:func:`kb.search.questions.meaningful_tokens`, with a notice), and
glossary forms are expanded to all their synonyms. Whoosh's parser then runs with only the
plugins readers need — words, phrases, brackets, AND/OR/NOT and trailing ``*`` — so that ranges,
boosts, fuzzy edits and raw field names are never interpreted. A prefix is expanded from the
vocabulary of real (unstemmed) words, at most :data:`MAX_PREFIX_TERMS` of them, because Whoosh's
own prefix query matches against stems and can expand to thousands of terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from whoosh import query as wq
from whoosh.qparser import AndGroup, OrGroup, QueryParser, plugins
from whoosh.qparser.plugins import MultifieldPlugin

from kb.search.glossary import Glossary
from kb.search.querytext import Token, join, tidy, tokenize, words_of
from kb.search.questions import left_out_notice, meaningful_tokens
from kb.search.schema import FIELD_BOOSTS, TEXT_FIELDS, build_schema, stem_word, text_analyzer

MAX_PREFIX_TERMS = 50
_ANALYZER = text_analyzer()
_SCHEMA = build_schema()


def analyse(text: str) -> list[str]:
    """The indexed forms of the words in ``text``."""
    return [token.text for token in _ANALYZER(text)]


@dataclass(frozen=True)
class CompiledQuery:
    """A Whoosh query (``None`` when there are no words: browse), and notes for the reader."""

    query: wq.Query | None
    notices: tuple[str, ...]
    highlight: frozenset[str]  # indexed forms to mark in titles, summaries and snippets
    words: tuple[str, ...]  # the reader's own words, for "Did you mean"
    has_operators: bool = False


def _parser(group=AndGroup) -> QueryParser:
    parser = QueryParser(None, _SCHEMA, group=group)
    parser.remove_plugin_class(plugins.FieldsPlugin)
    parser.remove_plugin_class(plugins.RangePlugin)
    parser.remove_plugin_class(plugins.BoostPlugin)
    parser.remove_plugin_class(plugins.EveryPlugin)
    parser.remove_plugin_class(plugins.SingleQuotePlugin)
    parser.add_plugin(MultifieldPlugin(list(TEXT_FIELDS), fieldboosts=FIELD_BOOSTS))
    return parser


_PARSER = _parser()
_ANY_WORD_PARSER = _parser(OrGroup)


def compile_query(
    text: str, glossary: Glossary, expand_prefix: Callable[[str], list[str]], any_word: bool = False
) -> CompiledQuery:
    """Compile ``text``; ``expand_prefix(p)`` returns the indexed forms of words starting with ``p``.

    Words are all required unless ``any_word`` is true (the fallback when all of them find nothing).
    """
    tidied = tidy(text)
    notices = list(tidied.notices)
    if not tidied.text.strip():
        return CompiledQuery(None, tuple(notices), frozenset(), ())
    # Question and filler words ("what", "how", "helped" …) do not drive matching or highlighting.
    tokens, left_out = meaningful_tokens(tokenize(tidied.text), analyse)
    left_out = tuple(w for w in left_out if analyse(w))  # stop words were never searched for
    if left_out:
        notices.append(left_out_notice(left_out))
    has_operators = any(t.kind in ("operator", "open", "phrase") or t.text.endswith("*") for t in tokens)
    expanded_tokens = glossary.expand(tokens, analyse)
    parsed = _plain_words(expanded_tokens, any_word) if expanded_tokens == tokens else None
    if parsed is None:
        parser = _ANY_WORD_PARSER if any_word else _PARSER
        try:
            parsed = parser.parse(join(expanded_tokens))
        except (RecursionError, ValueError, IndexError, TypeError, AttributeError):
            # Whoosh's parser has raised each of these on some input; plain words always parse.
            notices.append("We could not follow the structure of your search, so we looked for the words in it.")
            parsed = _PARSER.parse(" ".join(words_of(tidied.text)))
    try:
        query = _expand_prefixes(parsed, expand_prefix).normalize()
    except RecursionError:
        notices.append("Your search is nested too deeply, so we looked for the words in it.")
        query = _PARSER.parse(" ".join(words_of(tidied.text))).normalize()
    if query is wq.NullQuery or isinstance(query, wq.NullQuery.__class__):
        notices.append("Your search only has very common words (such as “the” or “and”), which are not indexed.")
        query = wq.NullQuery
    return CompiledQuery(
        query, tuple(notices), frozenset(_highlight_terms(query)), tuple(words_of(tidied.text)), has_operators
    )


# A word the parser reads as nothing but a word: letters and digits, "&" between them (A&E).
_PLAIN_WORD = re.compile(r"[^\W_]+(?:&[^\W_]+)*\Z")


def _plain_words(tokens: list[Token], any_word: bool) -> wq.Query | None:
    """The query Whoosh's parser makes of ``tokens`` when they are all plain words that the
    analyser turns into one indexed form each (or none: a stop word, which the parser drops too);
    ``None`` for anything else, which goes to the parser.

    Most searches are a few plain words, and parsing them was a twentieth of a search page's
    time; tests/unit/test_whoosh_query.py holds this equal to the parser's query.
    """
    words = []
    for token in tokens:
        if token.kind != "word" or token.text in _PARSER_WORDS or not _PLAIN_WORD.match(token.text):
            return None
        forms = analyse(token.text)
        if len(forms) > 1:
            return None
        if forms:
            words.append(wq.Or([wq.Term(field, forms[0], boost=FIELD_BOOSTS[field]) for field in TEXT_FIELDS]))
    if not words:
        return None
    if len(words) == 1:
        return words[0]
    if any_word:
        return wq.Or([term for word in words for term in word.subqueries])
    return wq.And(words)


# Words the parser reads as operators, whatever kb.search.querytext calls them.
_PARSER_WORDS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})


def _expand_prefixes(node: wq.Query, expand_prefix: Callable[[str], list[str]]) -> wq.Query:
    if isinstance(node, (wq.Prefix, wq.Wildcard)):
        prefix = node.text.rstrip("*").lower()
        forms = expand_prefix(prefix)[:MAX_PREFIX_TERMS]
        if not forms:
            return wq.NullQuery
        return wq.Or([wq.Term(node.fieldname, form, boost=node.boost) for form in forms])
    if node.is_leaf():
        return node
    return node.apply(lambda child: _expand_prefixes(child, expand_prefix))


def _highlight_terms(node: wq.Query) -> set[str]:
    if isinstance(node, wq.Not):
        return set()
    if isinstance(node, wq.Term):
        return {node.text} if node.fieldname in TEXT_FIELDS else set()
    if isinstance(node, wq.Phrase):
        return set(node.words) if node.fieldname in TEXT_FIELDS else set()
    terms: set[str] = set()
    if isinstance(node, wq.AndNot):
        return _highlight_terms(node.a)
    for child in node.children() if not node.is_leaf() else ():
        terms |= _highlight_terms(child)
    return terms


def stems_of(words: list[str]) -> list[str]:
    """The indexed forms of unstemmed vocabulary ``words``, without duplicates."""
    return list(dict.fromkeys(stem_word(w) for w in words))
