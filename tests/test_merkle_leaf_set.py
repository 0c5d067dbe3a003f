"""``ledger.merkle.leaf_set``: the root from a set of leaves and the stored nodes covering
the rest equals the tree's root, needs no node over a given leaf, and differs when any
leaf or covering node does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import IndexOutOfRangeError, MerkleTree, NodeID, leaf_hash
from ledger.merkle.leaf_set import covering_nodes, root_from_leaf_set

MAX_SIZE = 300
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]
TREE = MerkleTree(LEAVES)


@st.composite
def leaf_sets(draw: st.DrawFn) -> tuple[list[int], int]:
    size = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    if draw(st.booleans()):  # a contiguous page, as the verified reads prove
        first = draw(st.integers(min_value=0, max_value=size - 1))
        last = draw(st.integers(min_value=first, max_value=size - 1))
        return list(range(first, last + 1)), size
    chosen = draw(st.sets(st.integers(min_value=0, max_value=size - 1), min_size=1))
    return sorted(chosen), size


def _stored(ids: list[NodeID]) -> dict[NodeID, bytes]:
    return {n: TREE.node(n) for n in ids}


@settings(max_examples=400, deadline=None)
@given(leaf_sets())
def test_the_root_from_a_leaf_set_is_the_trees_root(case: tuple[list[int], int]) -> None:
    indices, size = case
    nodes = covering_nodes(indices, size)
    root = root_from_leaf_set(indices, [LEAVES[i] for i in indices], size, _stored(nodes))
    assert root == TREE.root(size)
    # Covering nodes are perfect subtrees inside the tree, apart from every given leaf.
    for n in nodes:
        assert n.end <= size
        assert not any(n.begin <= i < n.end for i in indices)


@settings(max_examples=200, deadline=None)
@given(leaf_sets(), st.data())
def test_a_changed_leaf_or_node_changes_the_root(
    case: tuple[list[int], int], data: st.DataObject
) -> None:
    indices, size = case
    hashes = [LEAVES[i] for i in indices]
    nodes = _stored(covering_nodes(indices, size))
    which = data.draw(st.integers(min_value=0, max_value=len(hashes) - 1))
    forged = list(hashes)
    forged[which] = leaf_hash(b"forged")
    assert root_from_leaf_set(indices, forged, size, nodes) != TREE.root(size)
    if nodes:
        node = data.draw(st.sampled_from(sorted(nodes)))
        assert root_from_leaf_set(indices, hashes, size, {**nodes, node: bytes(32)}) != TREE.root(
            size
        )


def test_a_contiguous_page_needs_about_two_nodes_per_level() -> None:
    """What makes a page cheap: 2,000 leaves of a 10⁶-leaf tree need only the nodes along
    the page's two borders (per-leaf proofs would name about 20 each)."""
    indices = list(range(500_000, 502_000))
    nodes = covering_nodes(indices, 1_000_000)
    assert len(nodes) <= 2 * (1_000_000).bit_length()


def test_every_leaf_given_needs_no_node() -> None:
    assert covering_nodes(list(range(37)), 37) == []
    assert root_from_leaf_set(list(range(37)), LEAVES[:37], 37, {}) == TREE.root(37)


@pytest.mark.parametrize(
    ("indices", "size", "error"),
    [
        ([], 5, ValueError),
        ([5], 5, IndexOutOfRangeError),
        ([-1], 5, IndexOutOfRangeError),
        ([2, 2], 5, ValueError),
        ([3, 1], 5, ValueError),
    ],
)
def test_a_malformed_leaf_set_is_refused(
    indices: list[int], size: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        covering_nodes(indices, size)


def test_a_missing_covering_node_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        root_from_leaf_set([0], [LEAVES[0]], 4, {})
