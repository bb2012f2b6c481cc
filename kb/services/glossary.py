"""The glossary as readers see it: terms grouped by first letter."""

from __future__ import annotations

from itertools import groupby

from kb import search
from kb.search.glossary import GlossaryItem


def by_letter() -> list[tuple[str, list[GlossaryItem]]]:
    """Glossary items grouped under their first letter (digits and symbols under "#")."""

    def letter(item: GlossaryItem) -> str:
        first = item.term[0].upper()
        return first if first.isalpha() else "#"

    items = sorted(search.glossary().items, key=lambda i: (letter(i), i.term.lower()))
    return [(key, list(group)) for key, group in groupby(items, key=letter)]
