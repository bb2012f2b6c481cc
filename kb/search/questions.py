"""Reading a search typed as a question: the words that matter, and what the reader is after.

Readers ask "what helped other areas with information governance and data sharing" rather than
typing key words. Two things are read from such text, without any engine:

* **the words that matter** (:func:`meaningful_tokens`): question and filler words ("what",
  "how", "did", "other", "areas" …) and the words that say *what kind* of answer is wanted
  ("helped", "barriers", "evidence" …) are left out of matching and highlighting, because
  nearly every entry contains them and they say nothing about the subject. Words that carry
  meaning in health and care ("care", "health", "social", "people", "work", "well", "need",
  "pioneer") are never left out. A search typed with AND, OR, NOT or brackets is taken exactly
  as typed, a quoted word or phrase is always kept, and a search made only of such words is
  searched as typed;
* **the intent** (:func:`understand`): the themes named (by name, by one of the ways readers
  name them, or by a glossary term for one), whether the reader asks what helped or what got in
  the way, and whether they want evidence. The search service turns it into a best bet and a
  ranking preference; the results stay the full-text results for the words that matter.

The word lists are deliberately short and closed: a word is here only if it is common in
questions and useless as a search term in this knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from kb.search.querytext import Token, tokenize

Analyse = Callable[[str], list[str]]

# Asking words, auxiliaries, pronouns and request words: common in questions, never the subject.
# So are the verbs of "does it reduce / improve …": entries report a change as "a fall in",
# "fewer", "rose", so requiring the verb would hide the very evaluations the reader wants.
# ("when", "can", "is", "are", "have", "the", "with" … are already stop words of the index.)
# Not here on purpose, because they carry meaning in health and care: "help" ("home help"),
# "place" ("place-based care"), "area" ("local area"), "list" ("waiting list"), "cuts"
# ("council cuts"), "work" and "working" ("joint working"), "well" ("Living Well"), "need".
FILLER = frozenset("""
    what whats which who whom whose where why how hows
    do does did done doing could would should shall might must was were been being has had
    get gets got getting go goes went make made
    i me my our ours they them their theirs its there these those
    any anyone anybody anything some someone somebody something everything
    other others another else such
    tell show find know give example examples please look looking want
    areas places elsewhere anywhere
    about past around really actually just ever also much many most more very
    things thing ways way kind kinds sort sorts lot lots like
    strong stronger strongest robust tried try trying
    reduce reduces reduced reducing lower lowered improve improves improved improving
""".split())

# What helped, and what got in the way: single words, then phrases (as lower-case words).
POLARITY_WORDS: Mapping[str, str] = {
    **dict.fromkeys("""helped helps helping helpful worked works enabled enable enables enabling
                       enabler enablers success successes successful succeeded""".split(), "enabler"),
    **dict.fromkeys("""barrier barriers problem problems problematic hindered hinder hinders hindrance
                       obstacle obstacles blocker blockers blocked difficulty difficulties challenge
                       challenges issues failed failure failures overcome overcame overcoming""".split(), "barrier"),
}
POLARITY_PHRASES: Mapping[tuple[str, ...], str] = {
    ("went", "well"): "enabler",
    ("got", "in", "the", "way"): "barrier",
    ("get", "in", "the", "way"): "barrier",
    ("gets", "in", "the", "way"): "barrier",
    ("getting", "in", "the", "way"): "barrier",
    ("stood", "in", "the", "way"): "barrier",
    ("went", "wrong"): "barrier",
    ("held", "back"): "barrier",
    ("holding", "back"): "barrier",
    ("held", "up"): "barrier",
}
# (So the theme "Evaluation and evidence" is read as a wish for evaluation evidence.)
EVIDENCE_WORDS = frozenset("evidence evaluation evaluations evaluated evaluate evaluating".split())

# How readers name themes besides the theme's own name (and any glossary term for it). A slug
# not among the site's themes is ignored, so content can change without breaking search.
THEME_ALIASES: Mapping[str, tuple[str, ...]] = {
    "care-coordination-navigators": ("care navigator", "care navigators", "navigators", "care coordination",
                                     "care co-ordination", "care coordinators", "care co-ordinators"),
    "multidisciplinary-teams": ("integrated teams", "neighbourhood teams", "community teams"),
    "voluntary-community-sector": ("voluntary sector", "third sector", "charities", "community sector"),
    "risk-stratification-population-health": ("population health", "risk stratification", "case finding"),
    "prevention-public-health": ("prevention", "public health"),
    "citizen-involvement-coproduction": ("co-production", "coproduction", "citizen involvement"),
    "geography-coterminosity": ("coterminosity", "coterminous"),
    "time-and-momentum": ("momentum",),
    "prime-contractor": ("prime contractor", "prime contractors", "lead provider", "prime provider"),
    "capitated-contract": ("capitation", "capitated"),
    "alliance-contract": ("alliance contracting",),
    "financial-pressure": ("financial pressures", "funding cuts"),
    "targets-emergency-admissions": ("admissions target", "admissions targets"),
    "national-support-model": ("national support",),
    "primary-care-engagement": ("GP engagement",),
    "shared-care-record": ("shared record", "shared records", "care record", "care records"),
    "data-sharing": ("sharing data", "information sharing"),
    "pooled-budgets": ("pooled budget", "pooling budgets", "pooled funds", "pooled fund", "pooling"),
    "structural-merger": ("merger", "mergers"),
    "relationships-trust": ("relationships",),
    "scale-and-spread": ("scaling up",),
}
MAX_THEME_WORDS = 6


@dataclass(frozen=True)
class ThemeName:
    """A theme as the parser needs it: its slug, its name and the other ways of naming it."""

    slug: str
    name: str
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """What a search asks for beyond its words.

    ``themes`` are slugs in the order named; ``polarity`` is ``enabler`` or ``barrier`` (``None``
    when neither, or both, are asked for); ``type`` is ``evidence`` or ``None``; ``rest`` is the
    words that matter that are not a theme's name (for a filtered search beside the theme).
    """

    themes: tuple[str, ...] = ()
    polarity: str | None = None
    type: str | None = None
    rest: str = ""

    @property
    def understood(self) -> bool:
        """True when the search names a theme, asks what helped or got in the way, or asks for evidence."""
        return bool(self.themes or self.polarity or self.type)


def _literal(tokens: Sequence[Token]) -> bool:
    """True for a search written with operators or brackets: it is taken exactly as typed."""
    return any(t.kind in ("operator", "open", "close") for t in tokens)


def _left_out_positions(tokens: Sequence[Token]) -> tuple[set[int], set[int], set[int]]:
    """Positions of plain words that are filler, that ask for a polarity, and that ask for evidence."""
    words = [t.text.lower() if t.kind == "word" and not t.text.endswith("*") else None for t in tokens]
    filler, polarity, evidence = set(), set(), set()
    i = 0
    while i < len(words):
        phrase = next((p for p in POLARITY_PHRASES if tuple(words[i:i + len(p)]) == p), None)
        if phrase:
            polarity.update(range(i, i + len(phrase)))
            i += len(phrase)
            continue
        word = words[i]
        if word in POLARITY_WORDS:
            polarity.add(i)
        elif word in EVIDENCE_WORDS:
            evidence.add(i)
        elif word in FILLER:
            filler.add(i)
        i += 1
    return filler, polarity, evidence


def meaningful_tokens(tokens: list[Token], analyse: Analyse) -> tuple[list[Token], tuple[str, ...]]:
    """``tokens`` without their question, filler and intent words, and the words left out.

    Nothing is left out of a search with operators or brackets, or when no searchable word would
    remain (then the search is made of the words as typed).
    """
    if _literal(tokens):
        return tokens, ()
    filler, polarity, evidence = _left_out_positions(tokens)
    # Everything that is not the subject; failing that ("what helped", "what got in the way of
    # evaluation"), keep the single words that say what is wanted; failing that, keep it all.
    phrases = {i for i in polarity if tokens[i].text.lower() not in POLARITY_WORDS}
    for drop in (filler | polarity | evidence, filler | phrases):
        kept = [t for i, t in enumerate(tokens) if i not in drop]
        if drop and any(t.kind == "phrase" or t.text.endswith("*") or analyse(t.text) for t in kept):
            return kept, tuple(dict.fromkeys(tokens[i].text for i in sorted(drop)))
    return tokens, ()


def left_out_notice(words: Iterable[str]) -> str:
    """Plain English for the reader: which words were left out, and how to keep one."""
    quoted = [f"“{w}”" for w in words]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return f"We searched without {listed}. To include a word, put it in quotes."


class ThemeMatcher:
    """Finds theme names (and other names for themes) in runs of words, longest first."""

    def __init__(self, themes: Iterable[ThemeName], analyse: Analyse, glossary_forms: Iterable[Sequence[str]] = ()):
        """``glossary_forms``: each glossary item's forms; an item with a form equal to a theme's
        name names that theme in all its forms ("IG" names Information governance)."""
        self._analyse = analyse
        self._by_key: dict[tuple[str, ...], str] = {}
        themes = list(themes)
        for theme in themes:
            for form in (theme.name, *theme.also, *THEME_ALIASES.get(theme.slug, ())):
                self._add(form, theme.slug)
        by_name = {tuple(analyse(t.name)): t.slug for t in themes}
        for forms in glossary_forms:
            slugs = {by_name[key] for key in (tuple(analyse(f)) for f in forms) if key in by_name}
            if len(slugs) == 1:
                slug = slugs.pop()
                for form in forms:
                    self._add(form, slug)

    def analyse(self, text: str) -> list[str]:
        """The indexed forms of the words in ``text`` (the analyser the matcher was built with)."""
        return self._analyse(text)

    def _add(self, form: str, slug: str) -> None:
        key = tuple(self._analyse(form))
        if key:
            self._by_key.setdefault(key, slug)

    def find(self, tokens: Sequence[Token], skip: set[int]) -> tuple[list[str], set[int]]:
        """The themes named in ``tokens`` (slugs, in order) and the positions of their words.

        A quoted phrase names a theme only as a whole; positions in ``skip`` are passed over.
        """
        found: list[str] = []
        used: set[int] = set()
        analysed = [self._analyse(t.text.strip('"')) if t.kind in ("word", "phrase") and i not in skip else None
                    for i, t in enumerate(tokens)]
        i = 0
        while i < len(tokens):
            if analysed[i] is None:
                i += 1
                continue
            if tokens[i].kind == "phrase":
                slug = self._by_key.get(tuple(analysed[i]))
                if slug:
                    found.append(slug)
                    used.add(i)
                i += 1
                continue
            for end in range(min(len(tokens), i + MAX_THEME_WORDS), i, -1):
                window = analysed[i:end]
                if any(a is None for a in window) or any(tokens[j].kind != "word" for j in range(i, end)):
                    continue
                key = tuple(w for a in window for w in a)
                if key and key in self._by_key:
                    found.append(self._by_key[key])
                    used.update(range(i, end))
                    i = end
                    break
            else:
                i += 1
        return list(dict.fromkeys(found)), used


def understand(text: str, matcher: ThemeMatcher) -> Question:
    """The themes, polarity and evidence a search asks for (see :class:`Question`).

    A search with operators or brackets is taken literally: it asks for nothing beyond its words.
    """
    tokens = tokenize(text)
    if _literal(tokens):
        return Question()
    filler, polarity_at, evidence_at = _left_out_positions(tokens)
    themes, theme_at = matcher.find(tokens, filler | polarity_at | evidence_at)
    polarities = set()
    words = [t.text.lower() for t in tokens]
    for phrase, value in POLARITY_PHRASES.items():
        if any(tuple(words[i:i + len(phrase)]) == phrase for i in polarity_at):
            polarities.add(value)
    polarities.update(POLARITY_WORDS[words[i]] for i in polarity_at if words[i] in POLARITY_WORDS)
    rest = [t.text for i, t in enumerate(tokens)
            if i not in filler | polarity_at | evidence_at | theme_at
            and (t.kind == "phrase" or (t.kind == "word" and matcher.analyse(t.text)))]
    return Question(
        themes=tuple(themes),
        polarity=polarities.pop() if len(polarities) == 1 else None,
        type="evidence" if evidence_at else None,
        rest=" ".join(rest),
    )


__all__ = ["Question", "ThemeMatcher", "ThemeName", "left_out_notice", "meaningful_tokens", "understand"]
