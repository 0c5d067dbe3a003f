"""A multimap key → footprint ids that costs nothing extra for a key with one id.

The registry indexes products and cited references of every active footprint: at 10⁶
footprints that is ≈3·10⁶ keys, almost all with one id (one active footprint per product,
one citer per reference) and a few hub products cited ~10⁴ times. A set per key (216
bytes empty) or a list per key (88 bytes) would be ≈0.3–0.6 GB and millions of objects
for the cyclic garbage collector to walk; holding the id string itself (already alive as
the footprint's id) for a single id costs only the dict slot. From the second id on, the
ids live in a list (appending to a tuple would copy it: quadratic for a hub).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class IdIndex(Generic[K]):
    """``key → ids`` in insertion order. An id is added under a key once while it is there
    (a footprint is registered once), or again right after itself, which is a no-op."""

    def __init__(self) -> None:
        self._ids: dict[K, str | list[str]] = {}

    def add(self, keys: Iterable[K], footprint_id: str) -> None:
        """Add ``footprint_id`` under each of ``keys`` (no-op under a key whose last id it
        already is, so a footprint naming the same key on several lines is recorded once).
        One call per footprint, not per key: a bulk build registers ≈5·10⁶ keys at 10⁶
        footprints."""
        ids = self._ids
        for key in keys:
            held = ids.get(key)
            if held is None:
                ids[key] = footprint_id
            elif isinstance(held, str):
                if held != footprint_id:
                    ids[key] = [held, footprint_id]
            elif held[-1] != footprint_id:
                held.append(footprint_id)

    def discard(self, key: K, footprint_id: str) -> None:
        """Remove ``footprint_id`` from ``key`` (and the key once nothing is left)."""
        held = self._ids.get(key)
        if held is None:
            return
        if isinstance(held, str):
            if held == footprint_id:
                del self._ids[key]
            return
        if footprint_id in held:
            held.remove(footprint_id)
            if len(held) == 1:
                self._ids[key] = held[0]

    def get(self, key: K) -> Sequence[str]:
        """The ids under ``key`` (empty when none)."""
        held = self._ids.get(key)
        if held is None:
            return ()
        return (held,) if isinstance(held, str) else held
