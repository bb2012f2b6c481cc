"""What an import did, and how people name the files it reads (``entries/<slug>`` …)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kb.services.content_io.schema import SLUG_PATTERN

KINDS = ("entries", "sites", "themes")
_SLUG = re.compile(SLUG_PATTERN)


def parse_target(value: str) -> tuple[str, str]:
    """``entries/<slug>``, ``sites/<slug>`` or ``themes/<slug>`` (``.md`` allowed) as (kind, slug).

    :raise ValueError: with a message for anything else.
    """
    kind, _, slug = value.strip().strip("/").partition("/")
    slug = slug.removesuffix(".md")
    if kind not in KINDS or not _SLUG.match(slug):
        raise ValueError(f"{value!r}: name a file as entries/<slug>, sites/<slug> or themes/<slug>")
    return kind, slug


@dataclass
class ImportReport:
    """What an import did.

    ``errors`` are ``path:line: message`` strings for files that could not be read or broke the
    rules; ``conflicts`` are ``path:line: message`` strings for valid files that were not applied
    because their row was changed on the web (see :mod:`.rule`). ``kept`` counts rows whose web
    change stands because their file has not changed since it was imported. ``taken`` holds the
    ``take_file`` targets that were found.
    """

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    taken: set[tuple[str, str]] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def summary(self) -> str:
        parts = []
        for kind in ("themes", "sites", "entries"):
            part = (f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
                    f"{self.unchanged[kind]} unchanged")
            if self.kept[kind]:
                part += f", {self.kept[kind]} kept as changed on the web"
            parts.append(part)
        parts.append(f"{len(self.errors)} file(s) with errors" if self.errors else "no errors")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s) with changes made on the web")
        return "; ".join(parts)
