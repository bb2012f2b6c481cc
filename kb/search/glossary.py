"""The field's acronyms and terms (``content/glossary.yml``): a glossary page and query synonyms.

Each item's term, expansion and other forms mean the same thing, so a search for any one of them
also finds the others: ``IG`` finds "information governance" and the other way round. Forms are
compared by their analysed words (lower-cased, stop words dropped, stemmed), so "delayed
transfer of care" matches the form "delayed transfers of care".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kb.search.querytext import Token, tokenize

_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 &'\-]*$")
MAX_FORM_WORDS = 6


class GlossaryError(ValueError):
    """The glossary file cannot be used; the message names the file and the item."""


class GlossaryItem(BaseModel):
    """One term of the glossary, as written in ``content/glossary.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1, max_length=40)
    expansion: str = Field(min_length=1, max_length=120)
    also: tuple[str, ...] = ()
    definition: str = Field(min_length=1, max_length=300)

    @field_validator("term", "expansion")
    @classmethod
    def _form(cls, value: str) -> str:
        return _check_form(value)

    @field_validator("also")
    @classmethod
    def _forms(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_form(v) for v in values)

    @property
    def forms(self) -> tuple[str, ...]:
        """Every way of writing this term: the term, its expansion and the other forms."""
        return (self.term, self.expansion, *self.also)


def _check_form(value: str) -> str:
    value = " ".join(value.split())
    if not _FORM.match(value) or value.upper() in {"AND", "OR", "NOT"}:
        raise ValueError("use letters, digits, spaces, hyphens, apostrophes and & only")
    if len(value.split()) > MAX_FORM_WORDS:
        raise ValueError(f"a form may have at most {MAX_FORM_WORDS} words")
    return value


@dataclass(frozen=True)
class Glossary:
    """The glossary items, and a lookup from analysed words to the item they name."""

    items: tuple[GlossaryItem, ...]
    _by_key: dict[tuple[str, ...], int]
    _longest: int  # most typed words in any form (stop words included), the matching window

    @classmethod
    def build(cls, items: Iterable[GlossaryItem], analyse: Callable[[str], list[str]]) -> Glossary:
        """Index ``items`` by the analysed words of each form.

        :raise GlossaryError: if two items share a form, or a form has no searchable words.
        """
        items = tuple(sorted(items, key=lambda i: i.term.lower()))
        by_key: dict[tuple[str, ...], int] = {}
        for number, item in enumerate(items):
            for form in item.forms:
                key = tuple(analyse(form))
                if not key:
                    raise GlossaryError(f"'{form}' (under {item.term}) has no words search can use")
                if by_key.get(key, number) != number:
                    raise GlossaryError(f"'{form}' (under {item.term}) is also a form of {items[by_key[key]].term}")
                by_key[key] = number
        longest = max((len(form.split()) for item in items for form in item.forms), default=0)
        return cls(items, by_key, longest)

    def expand(self, tokens: list[Token], analyse: Callable[[str], list[str]]) -> list[Token]:
        """Replace each glossary form in ``tokens`` with a bracketed OR of all its forms.

        Runs of plain words are matched longest first; a quoted phrase matches as a whole.
        Operators, brackets and prefix words are left as they are.
        """
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.kind == "phrase":
                number = self._by_key.get(tuple(analyse(token.text.strip('"'))))
                out += [token] if number is None else self._group(number)
                i += 1
                continue
            if token.kind != "word" or token.text.endswith("*"):
                out.append(token)
                i += 1
                continue
            run_end = i
            while run_end < len(tokens) and tokens[run_end].kind == "word" and not tokens[run_end].text.endswith("*"):
                run_end += 1
            out += self._expand_run(tokens[i:run_end], analyse)
            i = run_end
        return out

    def _expand_run(self, words: list[Token], analyse: Callable[[str], list[str]]) -> list[Token]:
        analysed = [analyse(w.text) for w in words]
        out: list[Token] = []
        i = 0
        while i < len(words):
            for end in range(min(len(words), i + self._longest), i, -1):
                key = tuple(t for a in analysed[i:end] for t in a)
                if key and key in self._by_key:
                    out += self._group(self._by_key[key])
                    i = end
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _group(self, number: int) -> list[Token]:
        forms = [f if " " not in f and "-" not in f else f'"{f}"' for f in self.items[number].forms]
        return tokenize("(" + " OR ".join(forms) + ")")


def load_items(path: Path) -> list[GlossaryItem]:
    """Read and validate ``path``; a missing file is an empty glossary.

    :raise GlossaryError: naming the file, the item and what is wrong with it.
    """
    if not path.exists():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise GlossaryError(f"{path}: not valid YAML: {error}") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GlossaryError(f"{path}: expected a list of terms")
    items = []
    for number, value in enumerate(raw, start=1):
        try:
            items.append(GlossaryItem.model_validate(value))
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors())
            raise GlossaryError(f"{path}: item {number}: {problems}") from None
    return items


__all__ = ["Glossary", "GlossaryError", "GlossaryItem", "load_items"]
