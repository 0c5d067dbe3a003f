"""An in-memory Merkle tree of leaf hashes, for auditors and tests.

It is the storage model of a real log in miniature: appends go through
:class:`~ledger.merkle.compact.CompactRange`, which reports each perfect node
once final, and every query is answered from those nodes via
:mod:`ledger.merkle.nodes`, so each root or proof costs O(log n) look-ups
whatever the tree size.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.merkle.compact import CompactRange
from ledger.merkle.errors import InvalidSizeError
from ledger.merkle.node_id import NodeID
from ledger.merkle.nodes import (
    ProofNodes,
    consistency_nodes,
    inclusion_nodes,
    root_from_subtrees,
    root_nodes,
)


class MerkleTree:
    """Append-only RFC 9162 tree able to prove any of its past versions.

    Perfect nodes are kept per level in index order (``levels[level][index]``,
    a dense map from :class:`NodeID` to hash), because nodes of one level
    complete strictly left to right. That holds about 2n hashes for n leaves.
    """

    __slots__ = ("_levels", "_range")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        self._range = CompactRange()
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._range.size

    def append(self, leaf_hash: bytes) -> int:
        """Append a leaf by its hash (see :func:`.hashing.leaf_hash`); return its index."""
        index = self.size
        self._range.append(leaf_hash, self._store)
        return index

    def node(self, node_id: NodeID) -> bytes:
        """Hash of a perfect node of the current tree; ``KeyError`` if it is not complete."""
        if node_id.level >= len(self._levels) or node_id.index >= len(self._levels[node_id.level]):
            raise KeyError(node_id)
        return self._levels[node_id.level][node_id.index]

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the tree at ``size`` leaves (default: the current size)."""
        size = self.size if size is None else self._check_size(size)
        return root_from_subtrees([self.node(n) for n in root_nodes(size)])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        return self._fetch(inclusion_nodes(index, self._check_size(size)))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 consistency proof from tree size ``size1`` to ``size2`` (0 < size1 <= size2)."""
        return self._fetch(consistency_nodes(size1, self._check_size(size2)))

    def _fetch(self, nodes: ProofNodes) -> list[bytes]:
        return nodes.rehash([self.node(n) for n in nodes.ids])

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise InvalidSizeError(f"tree size {size} is outside [0, {self.size}]")
        return size

    def _store(self, node_id: NodeID, value: bytes) -> None:
        if node_id.level == len(self._levels):
            self._levels.append([])
        self._levels[node_id.level].append(value)
