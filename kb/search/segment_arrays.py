"""A segment's postings, positions, lengths and sort orders as flat arrays in one file beside it.

Whoosh decodes postings in Python, a block at a time; a process that has not searched a term yet
paid for that decoding on its first search (a cold first pass at 10,000 entries had a p95 of
1.7× SQLite FTS5's), and every worker process kept its own decoded copy. Here each segment's
search data is decoded once, when the segment is written, into one file of plain arrays,
``<segment id>.kbarrays``. Every process memory-maps it: nothing is decoded on a first search,
and the pages are shared by all workers through the operating system's page cache.

The file is named like the segment's own files, so Whoosh deletes it together with the segment
(``whoosh.index.clean_files``) when a merge or a rebuild retires it. It is written to a hidden
temporary name and renamed into place, so a reader sees the whole file or none; a segment
without one (written by an older version, or just committed and not yet converted) is searched
through Whoosh as before (:mod:`kb.search.postings`), and so is a small segment written by a
single save (:data:`MIN_DOCS`).

Layout: ``MAGIC``, a little-endian ``uint64`` header length, a JSON header naming each section
(dtype, byte offset, item count), then the sections, each aligned to 64 bytes:

* ``keys`` — every term as UTF-8 ``field NUL text``, concatenated in byte order, and
  ``key_starts`` (one more than the terms) where each begins;
* ``post_starts``, ``ids`` (``int32``), ``freqs`` (``float32``, occurrences) — term ``i``'s
  postings are ``ids[post_starts[i]:post_starts[i + 1]]``;
* ``pos_starts``, ``positions`` (``int64`` keys ``(document << 32) | position``) for the text
  fields stored with positions;
* ``lengths.<field>`` — each document's length in words, for the scored fields;
* ``rank.<sort>`` — each document's place in ``newest``, ``oldest`` and ``title`` order, and
  ``order.<sort>`` the documents in that order;
* ``spell_hashes`` — :func:`word_hash` of every ``spell`` word, sorted: "Did you mean" asks
  whether hundreds of made-up words exist, and a hash lookup answers that fastest;
* ``entry_ids`` — each document's entry id (``int64``): a results page needs only those of its
  hits, where reading Whoosh's stored fields decompressed each hit's whole text.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import mmap
import multiprocessing
import os
import uuid
from pathlib import Path

import numpy as np

from kb.search import postings as post

MAGIC = b"KBARRAY3"  # changed whenever the layout changes: older files are then rewritten
SUFFIX = ".kbarrays"
# The fields a search reads postings of: text, "Did you mean" words, labels and facets.
FIELDS = ("about", "body", "polarities", "readers", "sites", "spell", "strength", "summary", "tags", "themes",
          "title", "type", "year")
LENGTH_FIELDS = ("about", "body", "summary", "title")
SORTS = ("newest", "oldest", "title")
_ALIGN = 64
# Segments of fewer documents — those single saves write, until ten of them are merged — are
# searched through Whoosh: they are quick to decode, and converting one on every save nearly
# doubled the time a save took.
MIN_DOCS = 500
FOUND_CACHE = 50_000  # terms whose place is remembered per segment and process (a few MB at most)


def path_for(folder: Path | str, segment) -> Path:
    """Where the arrays of Whoosh ``segment`` live in index ``folder``."""
    return Path(folder) / f"{segment.segment_id()}{SUFFIX}"


def word_hash(word: str | bytes) -> int:
    """A 64-bit hash of a word that every process computes alike (unlike :func:`hash`)."""
    data = word if isinstance(word, bytes) else word.encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def key_of(field: str, text: str | bytes) -> bytes:
    """The byte key of a term, as stored in ``keys``."""
    return field.encode() + b"\0" + (text if isinstance(text, bytes) else text.encode("utf-8"))


# --- writing ----------------------------------------------------------------------------------


def write(folder: Path | str, leaf, pooled: dict[str, dict[bytes, list]] | None = None) -> Path:
    """Write the arrays of segment reader ``leaf`` beside its segment in ``folder``; return the path.

    ``pooled``: the segment's postings by field and term, as the writer that just wrote it holds
    them (:meth:`kb.search.segment_writer.TermPool.by_field`), to take them from instead of
    reading them back from the files — the same bytes either way.

    Safe to run again or in several processes at once: each writes a temporary file and renames
    it over the same name, and every writer writes the same bytes.
    """
    sections = _sections(leaf, pooled)
    target = path_for(folder, leaf.segment())
    temporary = Path(folder) / f".{target.name}.{uuid.uuid4().hex[:8]}"
    header = {name: [str(array.dtype), 0, len(array)] for name, array in sections.items()}
    header["doc_count"] = leaf.doc_count_all()
    # Offsets depend on the header's length, which depends on the offsets: fix the width first.
    offset = 0
    for name, array in sections.items():
        header[name][1] = offset
        offset += _padded(array.nbytes)
    encoded = json.dumps(header).encode()
    start = _padded(len(MAGIC) + 8 + len(encoded))
    try:
        with open(temporary, "wb") as out:
            out.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded)
            out.write(b"\0" * (start - out.tell()))
            for array in sections.values():
                data = np.ascontiguousarray(array).tobytes()
                out.write(data + b"\0" * (_padded(len(data)) - len(data)))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _padded(size: int) -> int:
    return (size + _ALIGN - 1) // _ALIGN * _ALIGN


def _sections(leaf, pooled: dict[str, dict[bytes, list]] | None = None) -> dict[str, np.ndarray]:
    keys, key_starts, post_starts, pos_starts = [], [0], [0], [0]
    ids, freqs, positions = [], [], []
    posted = placed = 0
    indexed = set(leaf.indexed_field_names())
    for field in sorted(f for f in FIELDS if f in indexed and f in leaf.schema):
        if pooled is None:
            terms = post.every_term(leaf, field)
        else:
            terms = post.every_pooled_term(pooled.get(field, {}), leaf.schema[field].format)
        for text, found, keys_of_term in terms:
            if keys_of_term is not None:
                positions.append(keys_of_term)
                placed += len(keys_of_term)
            ids.append(found.ids.astype(np.int32))
            freqs.append(found.freqs)
            posted += len(found.ids)
            key = key_of(field, text)
            keys.append(key)
            key_starts.append(key_starts[-1] + len(key))
            post_starts.append(posted)
            pos_starts.append(placed)
    sections = {
        "keys": np.frombuffer(b"".join(keys), dtype=np.uint8),
        "key_starts": np.asarray(key_starts, dtype=np.int64),
        "post_starts": np.asarray(post_starts, dtype=np.int64),
        "pos_starts": np.asarray(pos_starts, dtype=np.int64),
        "ids": _joined(ids, np.int32),
        "freqs": _joined(freqs, np.float32),
        "positions": _joined(positions, np.int64),
    }
    if keys != sorted(keys):  # Whoosh's lexicon is in byte order; a lookup by bisection needs it
        raise ValueError("segment terms are not in byte order")
    spell = key_of("spell", b"")
    sections["spell_hashes"] = np.unique(np.asarray(
        [word_hash(key[len(spell):]) for key in keys if key.startswith(spell)], dtype=np.uint64))
    for field in LENGTH_FIELDS:
        sections[f"lengths.{field}"] = post.field_lengths(leaf, field) if field in indexed else np.zeros(
            leaf.doc_count_all(), dtype=np.float32)
    sections["entry_ids"] = np.asarray([int(value) for value in leaf.column_reader("id")], dtype=np.int64)
    for sort, order in sort_orders(leaf).items():
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        sections[f"order.{sort}"] = order
        sections[f"rank.{sort}"] = rank
    return sections


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def sort_orders(leaf) -> dict[str, np.ndarray]:
    """Local document numbers of ``leaf`` in each of :data:`SORTS` order (``int32``)."""
    size = leaf.doc_count_all()
    published = list(leaf.column_reader("published"))
    titles = list(leaf.column_reader("sort_title"))
    keys = {
        "newest": lambda d: (-published[d], titles[d]),
        "oldest": lambda d: (published[d], titles[d]),
        "title": lambda d: (titles[d], -published[d]),
    }
    return {sort: np.asarray(sorted(range(size), key=key), dtype=np.int32) for sort, key in keys.items()}


# --- reading ----------------------------------------------------------------------------------


class _Keys:
    """The sorted term keys as a sequence of bytes, for :mod:`bisect` (no copy of the blob)."""

    __slots__ = ("blob", "base", "starts")

    def __init__(self, blob, base: int, starts: np.ndarray):
        self.blob, self.base, self.starts = blob, base, starts

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index: int) -> bytes:
        base = self.base
        return self.blob[base + int(self.starts[index]):base + int(self.starts[index + 1])]


class SegmentArrays:
    """The memory-mapped arrays of one segment (see the module docstring). Read-only, thread-safe."""

    def __init__(self, path: Path | str):
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[:len(MAGIC)] != MAGIC:
            raise ValueError(f"{path} is not a segment arrays file of this version")
        length = int.from_bytes(self._map[len(MAGIC):len(MAGIC) + 8], "little")
        header = json.loads(self._map[len(MAGIC) + 8:len(MAGIC) + 8 + length])
        base = _padded(len(MAGIC) + 8 + length)
        self.doc_count: int = header.pop("doc_count")
        self._arrays = {
            name: np.frombuffer(self._map, dtype=np.dtype(dtype), count=count, offset=base + offset)
            for name, (dtype, offset, count) in header.items()
        }
        self._keys = _Keys(self._map, base + header["keys"][1], self._arrays["key_starts"])
        self._post_starts = self._arrays["post_starts"]
        self._pos_starts = self._arrays["pos_starts"]
        # Where each term looked up so far is (or -1): a bisection costs ~20 slices of the file.
        self._found: dict[tuple[str, str], int] = {}

    def _find(self, field: str, text: str) -> int:
        found = self._found.get((field, text))
        if found is not None:
            return found
        key = key_of(field, text)
        index = bisect.bisect_left(self._keys, key)
        if not (index < len(self._keys) and self._keys[index] == key):
            index = -1
        if len(self._found) >= FOUND_CACHE:
            self._found.clear()  # a search after this looks its terms up again: microseconds each
        self._found[(field, text)] = index
        return index

    def __contains__(self, term: tuple[str, str]) -> bool:
        return self._find(*term) >= 0

    def may_have_word(self, word: str) -> bool:
        """Whether ``spell:word`` may be here: never false when it is; true when it is not only
        once in 2**64 / (words in the segment) lookups — a hash lookup, for "Did you mean", which
        asks about hundreds of words that mostly are not."""
        hashes = self._arrays["spell_hashes"]
        wanted = np.uint64(word_hash(word))
        index = int(np.searchsorted(hashes, wanted))
        return index < len(hashes) and hashes[index] == wanted

    def postings(self, field: str, text: str) -> post.Postings:
        """Document numbers and frequencies of ``field:text`` (views of the file, no copy)."""
        index = self._find(field, text)
        if index < 0:
            return post.EMPTY
        start, end = int(self._post_starts[index]), int(self._post_starts[index + 1])
        return post.Postings(self._arrays["ids"][start:end], self._arrays["freqs"][start:end])

    def doc_frequency(self, field: str, text: str) -> int:
        """How many documents (deleted ones included) contain ``field:text``."""
        index = self._find(field, text)
        return 0 if index < 0 else int(self._post_starts[index + 1] - self._post_starts[index])

    def positions(self, field: str, text: str) -> np.ndarray:
        """Position keys of ``field:text``, as :func:`kb.search.postings.read_positions` gives them."""
        index = self._find(field, text)
        if index < 0:
            return post.NO_POSITIONS
        return self._arrays["positions"][int(self._pos_starts[index]):int(self._pos_starts[index + 1])]

    def lengths(self, field: str) -> np.ndarray | None:
        """Each document's length in words in ``field`` (``None`` for a field not stored here)."""
        return self._arrays.get(f"lengths.{field}")

    def entry_ids(self) -> np.ndarray:
        """Each local document's entry id."""
        return self._arrays["entry_ids"]

    def order(self, sort: str) -> np.ndarray:
        """Local document numbers in ``sort`` order."""
        return self._arrays[f"order.{sort}"]

    def rank(self, sort: str) -> np.ndarray:
        """Each local document's place in ``sort`` order."""
        return self._arrays[f"rank.{sort}"]

    def terms(self, field: str, prefix: str = "") -> list[str]:
        """The terms of ``field`` starting with ``prefix``, in byte order."""
        low = key_of(field, prefix)
        start = bisect.bisect_left(self._keys, low)
        end = bisect.bisect_left(self._keys, field.encode() + b"\1") if not prefix else \
            bisect.bisect_left(self._keys, low + b"\xff", lo=start)
        skip = len(field) + 1
        return [self._keys[i][skip:].decode("utf-8") for i in range(start, end)]

    def commonest(self, field: str, limit: int) -> list[tuple[str, int]]:
        """The ``limit`` terms of ``field`` found in most documents, with how many."""
        start = bisect.bisect_left(self._keys, key_of(field, ""))
        end = bisect.bisect_left(self._keys, field.encode() + b"\1", lo=start)
        counts = np.diff(self._post_starts[start:end + 1])
        best = np.argsort(-counts, kind="stable")[:limit]
        skip = len(field) + 1
        return [(self._keys[start + int(i)][skip:].decode("utf-8"), int(counts[i])) for i in best]

    def advise(self, advice: int) -> None:
        """Pass ``advice`` (e.g. ``mmap.MADV_WILLNEED``) to the kernel for the whole file."""
        self._map.madvise(advice)


def open_arrays(folder: Path | str, segment) -> SegmentArrays | None:
    """The arrays of ``segment`` in ``folder``, or ``None`` if there are none (or they cannot be read)."""
    path = path_for(folder, segment)
    try:
        arrays = SegmentArrays(path)
    except (OSError, ValueError, KeyError):
        return None
    if arrays.doc_count != segment.doc_count_all():
        return None
    return arrays


def write_missing(folder: Path | str, reader) -> int:
    """Write the arrays of every segment of ``reader`` (a Whoosh reader on ``folder``) that has none
    and has at least :data:`MIN_DOCS` documents.

    :return: how many files were written.
    """
    written = 0
    for leaf, _offset in reader.leaf_readers():
        if leaf.doc_count_all() >= MIN_DOCS and open_arrays(folder, leaf.segment()) is None:
            write(folder, leaf)
            written += 1
    return written


def write_all(ix, procs: int = 1) -> int:
    """Write the arrays of every segment of index ``ix`` that has none (and at least :data:`MIN_DOCS`
    documents), with up to ``procs`` processes.

    Used by a rebuild before the new index is swapped in (each segment takes seconds: every
    posting is decoded once, here, so that no search has to).

    :return: how many files were written.
    """
    folder = ix.storage.folder
    with ix.reader() as reader:
        missing = [leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()
                   if leaf.doc_count_all() >= MIN_DOCS and open_arrays(folder, leaf.segment()) is None]
        if procs <= 1 or len(missing) <= 1:
            return write_missing(folder, reader)
    with multiprocessing.get_context().Pool(min(procs, len(missing))) as pool:
        pool.starmap(_write_segment, [(folder, segment_id) for segment_id in missing])
    return len(missing)


def _write_segment(folder: str, segment_id: str) -> None:
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(folder).reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            if leaf.segment().segment_id() == segment_id:
                write(folder, leaf)
