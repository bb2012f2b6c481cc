"""Three-way merges of entry records, so that two people editing at once never lose words.

A record (see :mod:`kb.services.records`) is merged field by field against the revision both
edits started from (the *base*):

* a field only one side changed takes that side's value;
* a field both sides changed the same way takes that value;
* prose fields (the body, title and summary) that both sides changed are merged as text: line
  by line first (``merge3``, the algorithm Bazaar and Breezy use), and where lines clash, word by
  word inside the clash, so that edits to different sentences of one paragraph both survive;
* anything else both sides changed differently is a conflict, and nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from merge3 import Merge3

PROSE_FIELDS = ("title", "summary", "body")
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class FieldConflict:
    """A field both people changed in ways that cannot be combined: both values, intact."""

    name: str
    theirs: Any
    mine: Any


@dataclass
class MergeResult:
    """The merged record, the fields that needed merging, and the conflicts (empty when clean)."""

    record: dict[str, Any]
    merged_fields: list[str] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _merge_sequences(base: Sequence[str], mine: Sequence[str], theirs: Sequence[str],
                     refine: bool) -> list[str] | None:
    """Merge token sequences; None if they conflict. ``refine`` retries clashes word by word."""
    merged: list[str] = []
    for group in Merge3(base, mine, theirs).merge_groups():
        if group[0] != "conflict":
            merged.extend(group[1])
            continue
        if not refine:
            return None
        _, base_part, mine_part, theirs_part = group
        words = _merge_sequences(
            _WORDS.findall("".join(base_part)),
            _WORDS.findall("".join(mine_part)),
            _WORDS.findall("".join(theirs_part)),
            refine=False,
        )
        if words is None:
            return None
        merged.append("".join(words))
    return merged


def merge_text(base: str, mine: str, theirs: str) -> str | None:
    """Merge two edits of ``base``; return the combined text, or None if they clash."""
    if mine == theirs:
        return mine
    if mine == base:
        return theirs
    if theirs == base:
        return mine
    lines = _merge_sequences(
        base.splitlines(keepends=True), mine.splitlines(keepends=True), theirs.splitlines(keepends=True),
        refine=True,
    )
    return None if lines is None else "".join(lines)


def merge_records(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> MergeResult:
    """Merge ``mine`` and ``theirs``, both edits of ``base``. Keys missing from a record are empty."""
    result = MergeResult(record={})
    keys = list(dict.fromkeys([*theirs, *mine, *base]))
    for key in keys:
        b, m, t = base.get(key), mine.get(key), theirs.get(key)
        if m == t:
            value = m
        elif m == b:
            value = t
        elif t == b:
            value = m
        else:
            merged = merge_text(b or "", m or "", t or "") if key in PROSE_FIELDS else None
            if merged is None:
                result.conflicts.append(FieldConflict(key, t, m))
                value = t  # kept as theirs until the person decides
            else:
                result.merged_fields.append(key)
                value = merged
        if value not in (None, [], ""):
            result.record[key] = value
    if "body" not in result.record:
        result.record["body"] = ""
    return result
