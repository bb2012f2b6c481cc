"""Document sets as Python integers, one bit per document of a segment.

Whoosh counts facets by walking every hit and reading each value, which at 100,000 entries
takes seconds. Here every (field, value) of a segment is turned into a bit set once and kept
for as long as the segment exists — segments never change, only their deletions do — so a
facet count is ``(hits & value).bit_count()``, a C loop over a few kilobytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable, Iterable, Iterator



def from_ids(ids: Iterable[int], size: int) -> int:
    """A bit set with the bits of ``ids`` set (``size`` is the number of documents)."""
    bits = bytearray((size + 7) >> 3)
    for doc in ids:
        bits[doc >> 3] |= 1 << (doc & 7)
    return int.from_bytes(bits, "little")


def full(size: int) -> int:
    """Every document of a segment of ``size`` documents."""
    return (1 << size) - 1


def ids_of(bits: int) -> Iterator[int]:
    """The documents in ``bits``, in increasing order."""
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in _BITS[byte]:
                yield base + bit


_BITS = [tuple(b for b in range(8) if value >> b & 1) for value in range(256)]


class LruCache:
    """A thread-safe least-recently-used cache holding at most ``capacity`` bytes (roughly).

    Values are bit sets, NumPy-backed postings and per-segment tables; :func:`size_of` weighs them.
    """

    def __init__(self, capacity: int):
        self._capacity = capacity
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, build):
        """Return the cached value for ``key``, building and storing it with ``build()`` if absent."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = build()
        size = size_of(value)
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._size -= previous[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self._capacity and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped
        return value

    def clear(self) -> None:
        """Forget everything (after the index is rebuilt)."""
        with self._lock:
            self._items.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Bytes held, as weighed by :func:`size_of`."""
        return self._size


def size_of(value: object) -> int:
    """Roughly how many bytes ``value`` keeps alive (exact enough to bound a cache)."""
    if isinstance(value, int):
        return 32 + (value.bit_length() >> 3)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (set, frozenset)):
        return 256 + 100 * len(value)
    if isinstance(value, (list, tuple)):
        return 64 + 8 * len(value) + sum(size_of(v) for v in value[:1]) * len(value)
    return 256
