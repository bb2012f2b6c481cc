"""Fingerprints of the source texts' 12-word passages, so that a test can tell whether content
copies a passage from the seeds or the research pack without the texts themselves in the repo.

Content is written in our own words: facts carry over from the sources, sentences do not. A run
of :data:`N` or more consecutive words shared with a source counts as copied. Each passage of
the sources (lower-cased words, URLs left out) is kept as the first 8 bytes of its BLAKE2b hash,
sorted, in ``tests/data/source_passages.bin``. Regenerate it when the sources change::

    .venv/bin/python -m tests.content_passages ../shared/seeds ../shared/research
"""

from __future__ import annotations

import hashlib
import re
import sys
from bisect import bisect_left
from pathlib import Path
from typing import Iterable, Iterator

N = 12  # words in a row that count as a copied passage
FINGERPRINTS = Path(__file__).parent / "data" / "source_passages.bin"
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[a-z0-9£%]+(?:'[a-z]+)?")


_ANY_CASE = re.compile(r"[A-Za-z0-9£%]+(?:'[A-Za-z]+)?")
# Small words that names of organisations and programmes hold uncapitalised.
_JOINING = frozenset({"and", "of", "the", "for", "with", "in", "on", "their", "&"})


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, curly apostrophes made straight, URLs left out."""
    return [word.lower() for word in _original_words(text)]


def _original_words(text: str) -> list[str]:
    return _ANY_CASE.findall(_URL.sub(" ", text.replace("\u2019", "'")))


def is_list_of_names(run: str) -> bool:
    """Is ``run`` (as written) a list of names, e.g. of organisations? Such lists may repeat a
    source: there is no other way to write them. Every word but the joining ones is capitalised."""
    return all(word[0].isupper() or word[0].isdigit() or word.lower() in _JOINING for word in run.split())


def fingerprint(passage: Iterable[str]) -> bytes:
    return hashlib.blake2b(" ".join(passage).encode(), digest_size=8).digest()


def passages(text: str) -> Iterator[tuple[int, bytes]]:
    """Each N-word passage of ``text``: (its first word's index, its fingerprint)."""
    found = words(text)
    for start in range(len(found) - N + 1):
        yield start, fingerprint(found[start:start + N])


class SourcePassages:
    """The sources' fingerprints, looked up by bisection in the sorted file."""

    def __init__(self, path: Path = FINGERPRINTS) -> None:
        data = path.read_bytes()
        self.prints = [data[i:i + 8] for i in range(0, len(data), 8)]

    def __contains__(self, print_: bytes) -> bool:
        at = bisect_left(self.prints, print_)
        return at < len(self.prints) and self.prints[at] == print_

    def copied(self, text: str) -> list[str]:
        """The runs of N or more words of ``text`` that a source has, as written in ``text``."""
        found, runs, end = _original_words(text), [], -1
        for start, print_ in passages(text):
            if print_ in self:
                if start <= end:  # overlaps the run before: extend it
                    runs[-1] = (runs[-1][0], start + N)
                else:
                    runs.append((start, start + N))
                end = start + N - 1
        return [" ".join(found[a:b]) for a, b in runs]


def main(folders: list[str]) -> None:
    prints = set()
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                prints.update(print_ for _, print_ in passages(path.read_text(encoding="utf-8", errors="replace")))
    FINGERPRINTS.write_bytes(b"".join(sorted(prints)))
    print(f"{len(prints)} passages from {', '.join(folders)} written to {FINGERPRINTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
