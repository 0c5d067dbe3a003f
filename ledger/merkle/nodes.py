"""Proofs expressed as the stored perfect-subtree nodes needed to build them.

A log database that keeps only the hashes of perfect subtrees (one row per
:class:`~ledger.merkle.node_id.NodeID`, about 2n rows for n leaves) can answer
the root, an inclusion proof or a consistency proof for *any* tree size with
O(log n) point look-ups: the functions here name the nodes to fetch, and
:meth:`ProofNodes.rehash` folds the few that lie on the tree's ragged right
border into the one *ephemeral* node the RFC 9162 proof contains.

The algorithm follows transparency-dev/merkle ``proof.Nodes``; the proofs are
exactly those of RFC 9162 §2.1.3 (PATH) and §2.1.4 (SUBPROOF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.merkle.errors import IndexOutOfRangeError, InvalidSizeError, ProofLengthError
from ledger.merkle.hashing import EMPTY_ROOT, node_hash
from ledger.merkle.node_id import NodeID


@dataclass(frozen=True)
class ProofNodes:
    """The nodes to fetch for a proof, and how to turn their hashes into it.

    ``ids[begin:end]`` (an empty range when ``begin == end``) are perfect
    subtrees ordered left to right that together cover one ephemeral node; they
    are hashed right to left, as :func:`root_from_subtrees` does, into a single
    hash that takes their place. Every other id maps to one proof hash as is.
    """

    ids: tuple[NodeID, ...]
    begin: int
    end: int

    def rehash(self, hashes: Sequence[bytes]) -> list[bytes]:
        """Return the RFC 9162 proof from the hashes of :attr:`ids`, in the same order."""
        if len(hashes) != len(self.ids):
            raise ProofLengthError(len(hashes), len(self.ids))
        if self.begin == self.end:
            return list(hashes)
        ephemeral = root_from_subtrees(hashes[self.begin : self.end])
        return [*hashes[: self.begin], ephemeral, *hashes[self.end :]]

    def _skip_first(self) -> ProofNodes:
        """Drop ``ids[0]``: the node being proven, which the verifier already holds."""
        if self.begin == self.end:
            return ProofNodes(self.ids[1:], 0, 0)
        return ProofNodes(self.ids[1:], self.begin - 1, self.end - 1)


def root_nodes(size: int) -> tuple[NodeID, ...]:
    """Perfect subtrees that make up the tree of ``size`` leaves, left to right.

    There is one per set bit of ``size``, largest first: size 6 = 0b110 gives
    (level 2, index 0) over leaves 0-3 and (level 1, index 2) over leaves 4-5.
    Precondition: ``size >= 0``.
    """
    if size < 0:
        raise InvalidSizeError(f"tree size must not be negative, got {size}")
    return tuple(_aligned_range(0, size))


def root_from_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Fold perfect-subtree hashes, given left to right, into their tree's root.

    The hashes are combined right to left (the smallest, rightmost subtree
    first), which is how RFC 9162's MTH splits a tree whose size is not a power
    of two. No hashes gives :data:`~ledger.merkle.hashing.EMPTY_ROOT`.
    """
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_nodes(index: int, size: int) -> ProofNodes:
    """Nodes of the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Requires ``0 <= index < size``; raises :class:`IndexOutOfRangeError` otherwise.
    """
    if not 0 <= index < size:
        raise IndexOutOfRangeError(index, size)
    return _path_nodes(index, 0, size)._skip_first()


def consistency_nodes(size1: int, size2: int) -> ProofNodes:
    """Nodes of the consistency proof from the tree of ``size1`` leaves to ``size2``.

    Requires ``0 < size1 <= size2`` (a proof from the empty tree is meaningless);
    raises :class:`InvalidSizeError` otherwise. Equal sizes give no nodes.
    """
    if size1 <= 0:
        raise InvalidSizeError(f"consistency proof needs size1 > 0, got {size1}")
    if size1 > size2:
        raise InvalidSizeError(f"consistency proof needs size1 <= size2, got {size1} > {size2}")
    if size1 == size2:
        return ProofNodes((), 0, 0)
    # The largest perfect subtree ending at leaf size1-1: the proof starts from it.
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    nodes = _path_nodes(index, level, size2)
    # If size1 is a power of two, that subtree is the old root the verifier has.
    return nodes._skip_first() if index == 0 else nodes


def _path_nodes(index: int, level: int, size: int) -> ProofNodes:
    """Nodes proving that node (level, index) is in the tree of ``size`` leaves.

    ``ids[0]`` is the node itself. Then come the siblings along its path up to
    the *fork*, the highest ancestor whose right neighbour is not yet a perfect
    subtree; then the perfect subtrees that cover that neighbour (the
    ephemeral node), then those left of the fork, lowest level first.
    Precondition: the node lies entirely within [0, size).
    """
    inner = (index ^ (size >> level)).bit_length() - 1
    fork = NodeID(level + inner, index >> inner)
    node = NodeID(level, index)
    ids = [node]
    while node.level < fork.level:
        ids.append(node.sibling())
        node = node.parent()
    begin = len(ids)
    ids.extend(_aligned_range(fork.end, size - fork.end))
    end = len(ids)
    ids.extend(reversed(_aligned_range(0, fork.begin)))
    if end - begin == 0:
        begin = end = 0
    return ProofNodes(tuple(ids), begin, end)


def _aligned_range(start: int, count: int) -> list[NodeID]:
    """Perfect subtrees covering leaves [start, start + count), left to right.

    Precondition: ``start`` is a multiple of 2^count.bit_length(), so the range
    splits into one subtree per set bit of ``count``, largest first.
    """
    ids = []
    for level in reversed(range(count.bit_length())):
        if count >> level & 1:
            ids.append(NodeID(level, start >> level))
            start += 1 << level
    return ids
