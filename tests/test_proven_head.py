"""``ledger.read.proven_head``: a tree past a signed checkpoint is taken only when a
consistency proof from the stored nodes ties it to the checkpoint."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import IntegrityError
from ledger.merkle import MerkleTree, NodeID
from ledger.read.proven_head import ProvenHead, ProvenHeads, extension_nodes

LEAVES = [hashlib.sha256(bytes([n])).digest() for n in range(13)]


def _stored(tree: MerkleTree, ids: tuple[NodeID, ...]) -> dict[NodeID, bytes]:
    return {i: tree.node(i) for i in ids}


@pytest.mark.parametrize(("base_size", "size"), [(1, 2), (3, 7), (4, 8), (5, 13), (8, 13)])
def test_a_tree_that_extends_the_base_is_taken(base_size: int, size: int) -> None:
    tree = MerkleTree(LEAVES[:size])
    base = ProvenHead(base_size, MerkleTree(LEAVES[:base_size]).root())
    heads = ProvenHeads()
    head = heads.extend(base, size, _stored(tree, extension_nodes(base_size, size)), size - 1)
    assert head == ProvenHead(size, tree.root())
    assert heads.newest == head


def test_a_tree_that_rewrote_the_base_is_refused() -> None:
    rewritten = [LEAVES[0], hashlib.sha256(b"forged").digest(), *LEAVES[2:13]]
    tree = MerkleTree(rewritten)
    base = ProvenHead(5, MerkleTree(LEAVES[:5]).root())
    heads = ProvenHeads()
    with pytest.raises(IntegrityError, match="not consistent with the tree proven"):
        heads.extend(base, 13, _stored(tree, extension_nodes(5, 13)), 12)
    assert heads.newest is None


def test_a_missing_node_is_refused() -> None:
    tree = MerkleTree(LEAVES)
    ids = extension_nodes(5, 13)
    stored = _stored(tree, ids[1:])
    with pytest.raises(IntegrityError, match="missing"):
        ProvenHeads().extend(ProvenHead(5, MerkleTree(LEAVES[:5]).root()), 13, stored, 12)


def test_a_smaller_tree_never_replaces_the_newest() -> None:
    heads = ProvenHeads()
    base = ProvenHead(2, MerkleTree(LEAVES[:2]).root())
    for size in (9, 4):
        tree = MerkleTree(LEAVES[:size])
        heads.extend(base, size, _stored(tree, extension_nodes(2, size)), size - 1)
    assert heads.newest is not None and heads.newest.size == 9
