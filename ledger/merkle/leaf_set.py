"""The root of a tree from a set of its leaves and the stored nodes covering the rest.

Proving a page of k leaves one inclusion proof at a time costs k·log n hashes and
node look-ups, although neighbouring leaves share almost all of their proofs. Here
the page is proven at once: the tree's root is recomputed from the page's leaf hashes
and the few stored perfect subtrees that cover everything else (about 2·log n of
them for a contiguous page), with one hash per interior node the page reaches. If
that root is the signed one, every leaf of the page is at its index in the signed
tree, as surely as by separate proofs (a second root would need a SHA-256
collision). Which leaf is wrong, when the root differs, is for separate proofs to say.

The recursion follows RFC 9162 §2.1.1's MTH split (the left part is the largest
perfect subtree), so a part without any of the given leaves is one stored node when
it is a perfect subtree, and otherwise splits again down to perfect ones.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise

from ledger.merkle.errors import IndexOutOfRangeError
from ledger.merkle.hashing import node_hash
from ledger.merkle.node_id import NodeID


def covering_nodes(indices: Sequence[int], size: int) -> list[NodeID]:
    """The perfect subtrees that, with the leaves at ``indices``, determine the root of
    the tree of ``size`` leaves: none of them contains one of ``indices``.

    Preconditions: ``indices`` is strictly increasing and not empty, and every index
    is in [0, size); raises :class:`IndexOutOfRangeError` for one that is not.
    """
    _check(indices, size)
    out: list[NodeID] = []

    def walk(begin: int, end: int, lo: int, hi: int) -> None:
        count = end - begin
        if lo == hi and count & (count - 1) == 0:
            level = count.bit_length() - 1
            out.append(NodeID(level, begin >> level))
            return
        if hi - lo == count:  # every leaf of the part is given
            return
        split = begin + _largest_power_below(count)
        mid = bisect_left(indices, split, lo, hi)
        walk(begin, split, lo, mid)
        walk(split, end, mid, hi)

    walk(0, size, 0, len(indices))
    return out


def root_from_leaf_set(
    indices: Sequence[int],
    leaf_hashes: Sequence[bytes],
    size: int,
    nodes: Mapping[NodeID, bytes],
) -> bytes:
    """The root of the tree of ``size`` leaves in which leaf ``indices[i]`` hashes to
    ``leaf_hashes[i]`` and the perfect subtrees :func:`covering_nodes` names hash to
    ``nodes[...]``.

    Preconditions: those of :func:`covering_nodes`, ``len(leaf_hashes) ==
    len(indices)``, and ``nodes`` holds every covering node (``KeyError`` otherwise);
    hashes are not checked for size, callers validate untrusted input.
    """
    _check(indices, size)
    if len(leaf_hashes) != len(indices):
        raise ValueError(f"{len(leaf_hashes)} leaf hashes for {len(indices)} indices")
    stored: Callable[[NodeID], bytes] = nodes.__getitem__

    def root(begin: int, end: int, lo: int, hi: int) -> bytes:
        count = end - begin
        if lo == hi and count & (count - 1) == 0:
            level = count.bit_length() - 1
            return stored(NodeID(level, begin >> level))
        if count == 1:
            return leaf_hashes[lo]
        split = begin + _largest_power_below(count)
        mid = bisect_left(indices, split, lo, hi)
        return node_hash(root(begin, split, lo, mid), root(split, end, mid, hi))

    return root(0, size, 0, len(indices))


def _largest_power_below(count: int) -> int:
    """The largest power of two less than ``count`` (``count >= 2``): RFC 9162's k."""
    return 1 << ((count - 1).bit_length() - 1)


def _check(indices: Sequence[int], size: int) -> None:
    if not indices:
        raise ValueError("a leaf set needs at least one leaf")
    if indices[0] < 0 or indices[-1] >= size:
        raise IndexOutOfRangeError(indices[0] if indices[0] < 0 else indices[-1], size)
    if any(b <= a for a, b in pairwise(indices)):
        raise ValueError("leaf indices must be strictly increasing")
