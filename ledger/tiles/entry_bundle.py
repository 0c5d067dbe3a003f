"""Entry bundles: a level-0 tile's entries, each prefixed by its length as a
big-endian uint16 (C2SP tlog-tiles). Our entries are the 177-byte record leaves
(``ledger.record``), so each one hashes to the matching level-0 tile hash."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.tiles.errors import TileSizeError

MAX_ENTRY_SIZE = 0xFFFF
"""The largest entry a uint16 length prefix can carry."""


def encode(entries: Iterable[bytes]) -> bytes:
    """The bundle of ``entries``, in order. Raises :class:`TileSizeError` for an entry
    longer than :data:`MAX_ENTRY_SIZE`."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise TileSizeError(f"an entry of {len(entry)} bytes does not fit a uint16 prefix")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode(data: bytes, count: int) -> list[bytes]:
    """The ``count`` entries of a bundle; :class:`TileSizeError` for a truncated
    bundle, trailing bytes, or another number of entries."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise TileSizeError(f"the bundle ends inside the length of entry {len(entries)}")
        size = int.from_bytes(data[at : at + 2], "big")
        at += 2
        if at + size > len(data):
            raise TileSizeError(f"the bundle ends inside entry {len(entries)}")
        entries.append(data[at : at + size])
        at += size
    if len(entries) != count:
        raise TileSizeError(f"the bundle has {len(entries)} entries, want {count}")
    return entries
