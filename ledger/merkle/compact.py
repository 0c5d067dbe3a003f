"""The compact Merkle range [0, size): the minimal state needed to keep appending.

A log server that persists ``(size, hashes)`` after every append can resume
without reading any leaf back, and learns from :meth:`CompactRange.append`
exactly which perfect-subtree nodes became final so it can store them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.merkle.errors import HashSizeError, InvalidSizeError
from ledger.merkle.hashing import HASH_SIZE, node_hash
from ledger.merkle.node_id import NodeID
from ledger.merkle.nodes import root_from_subtrees

NodeSink = Callable[[NodeID, bytes], None]
"""Receives every perfect node as soon as its hash is final."""


class CompactRange:
    """Hashes of the perfect subtrees (``root_nodes(size)``) covering leaves [0, size)."""

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Resume from stored state; ``hashes`` are those of ``root_nodes(size)``, in order.

        Raises :class:`InvalidSizeError` unless ``len(hashes) == popcount(size)``
        and :class:`HashSizeError` for a hash that is not 32 bytes.
        """
        if size < 0:
            raise InvalidSizeError(f"tree size must not be negative, got {size}")
        if len(hashes) != size.bit_count():
            raise InvalidSizeError(
                f"tree size {size} needs {size.bit_count()} subtree hashes, got {len(hashes)}"
            )
        for h in hashes:
            if len(h) != HASH_SIZE:
                raise HashSizeError("subtree hash", len(h), HASH_SIZE)
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Hashes of ``root_nodes(size)``, left to right (largest subtree first)."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes, on_node: NodeSink | None = None) -> None:
        """Add the leaf with hash ``leaf_hash`` at index ``size``.

        ``on_node`` is called for the new leaf, then for each perfect node the
        append completes, lowest level first: a parent is only ever reported
        after both of its children.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise HashSizeError("leaf hash", len(leaf_hash), HASH_SIZE)
        node, value = NodeID(0, self._size), leaf_hash
        if on_node is not None:
            on_node(node, value)
        # Each trailing 1 bit of the old size is a left sibling now complete with us.
        while node.index & 1:
            value = node_hash(self._hashes.pop(), value)
            node = node.parent()
            if on_node is not None:
                on_node(node, value)
        self._hashes.append(value)
        self._size += 1

    def root(self) -> bytes:
        """RFC 9162 root hash of the tree of :attr:`size` leaves."""
        return root_from_subtrees(self._hashes)
