"""A multimap key → footprint ids that costs nothing extra for a key with one id.

The registry and the gateway's active set index products, companies and citations of
every active footprint: at 10⁶ footprints that is millions of keys, almost all with one id
(one active footprint per product, one citer per reference) and a few hubs (a supplier's
company named by 10⁵ footprints, a material cited 10⁴ times). A set per key (216 bytes
even for one id) would be ≈0.2 GB per million keys and a million objects for the cyclic
garbage collector and a snapshot to walk; holding the id string itself (already alive as
the footprint's id) for a single id costs only the dict slot. From the second id on, the
ids live in a set, so adding and removing stay O(1) for a hub, and a key goes when its
last id does.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class IdIndex(Generic[K]):
    """``key → ids``, a multimap of sets."""

    def __init__(self) -> None:
        self._ids: dict[K, str | set[str]] = {}

    def add(self, keys: Iterable[K], footprint_id: str) -> None:
        """Add ``footprint_id`` under each of ``keys`` (already there: nothing changes).
        One call per footprint, not per key: a bulk build registers millions of keys."""
        ids = self._ids
        for key in keys:
            held = ids.get(key)
            if held is None:
                ids[key] = footprint_id
            elif isinstance(held, str):
                if held != footprint_id:
                    ids[key] = {held, footprint_id}
            else:
                held.add(footprint_id)

    def discard(self, key: K, footprint_id: str) -> None:
        """Remove ``footprint_id`` from ``key`` (and the key once nothing is left)."""
        held = self._ids.get(key)
        if held is None:
            return
        if isinstance(held, str):
            if held == footprint_id:
                del self._ids[key]
            return
        held.discard(footprint_id)
        if len(held) == 1:
            self._ids[key] = next(iter(held))

    def get(self, key: K) -> Collection[str]:
        """The ids under ``key`` (empty when none); read-only, in no particular order."""
        held = self._ids.get(key)
        if held is None:
            return ()
        return (held,) if isinstance(held, str) else held

    def __len__(self) -> int:
        """How many keys hold at least one id."""
        return len(self._ids)
