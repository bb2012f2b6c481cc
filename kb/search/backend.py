"""The search seam: what the rest of the application asks of a search engine.

Services talk to a :class:`SearchBackend`; the Whoosh implementation is the embedded default,
and a deployment that outgrows one machine can add another behind the same protocol. Requests
and answers are plain data, so the protocol says nothing about any one engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Protocol

from kb.search.documents import IndexDocument

SORTS = ("relevance", "strength", "newest", "oldest", "title")
FACETS = ("type", "site", "theme", "polarity", "year", "strength")


class IndexUnavailable(Exception):
    """The index is missing or cannot be read. ``message`` says what to do about it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SearchRequest:
    """One search as the reader asked for it, with fielded filters already taken out of ``text``.

    ``readers`` are the labels of the person searching (see :mod:`kb.search.documents`); no
    document without one of them may influence the answer in any way.
    """

    text: str
    readers: tuple[str, ...]
    filters: Mapping[str, str | int] = field(default_factory=dict)
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    time_budget: float = 2.0
    # Ranking only: (facet, value) pairs, each lifting the entries that have it above those that
    # do not, under "Best match" (facets as in FACETS, plus "tag" for "<theme>:<polarity>").
    # They never change which entries match or how many.
    prefer: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hit:
    """One result: the entry's id. Its texts, with :attr:`SearchHits.highlight` marked in them
    (:mod:`kb.search.snippets`), come from the database with the entry's other fields."""

    id: int


@dataclass
class SearchHits:
    """The answer to a :class:`SearchRequest`.

    ``facets`` maps each of :data:`FACETS` to ``{value: count}``: the number of results there
    would be with that value chosen and every *other* active filter kept. ``partial`` is true
    when the time budget ran out and the results are what was found by then. ``highlight`` is
    the indexed forms of the words that made the hits match, to mark in their texts.
    """

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    notices: list[str] = field(default_factory=list)
    partial: bool = False
    suggestion: str | None = None
    highlight: frozenset[str] = frozenset()


class SearchBackend(Protocol):
    """A full-text index of entries."""

    def search(self, request: SearchRequest) -> SearchHits:
        """Answer ``request``. :raise IndexUnavailable: if the index cannot be read."""

    def related(self, entry_id: int, readers: tuple[str, ...], limit: int) -> list[int]:
        """Ids of up to ``limit`` entries most like ``entry_id`` that ``readers`` may find."""

    def apply(self, ids: Iterable[int], load: Callable[[list[int]], Mapping[int, IndexDocument]], *,
              wait: bool = True) -> bool:
        """Bring the documents for ``ids`` up to date; return whether they were written.

        ``load`` is called while the index is locked and returns the current document of every
        id that still exists; ids it leaves out are removed from the index. Loading under the lock
        means two processes saving the same entry cannot leave the older state in the index.
        With ``wait=False`` a busy index returns ``False`` at once instead of waiting its turn
        (the request path does this; see :mod:`kb.search.indexing`).
        """

    def stamps(self) -> dict[int, str]:
        """Every indexed entry id with the stamp of the document stored for it."""

    def rebuild(self, documents: Iterable[IndexDocument]) -> int:
        """Build a fresh index from ``documents`` beside the live one and swap it in; return the count."""

    def status(self) -> str | None:
        """``None`` if the index can be searched, else a message saying what is wrong."""

    def complete(self) -> int:
        """Write what the index derives from itself and lacks (after an upgrade changed its
        format, say); return how many pieces were written."""

    def close(self) -> None:
        """Release open files; the backend reopens them when next used."""
