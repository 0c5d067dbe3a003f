"""Property tests: node-based proofs equal a naive RFC 9162 reference, and verify.

``_mth``, ``_path`` and ``_subproof`` below are RFC 9162 §2.1.1, §2.1.3.1 and
§2.1.4.1 transcribed literally (recursive, O(n) per call), as an independent
reference for the O(log n) node-based implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    HashSizeError,
    IndexOutOfRangeError,
    InvalidSizeError,
    MerkleError,
    MerkleTree,
    NodeID,
    ProofLengthError,
    RootMismatchError,
    consistency_nodes,
    inclusion_nodes,
    leaf_hash,
    node_hash,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]
TREE = MerkleTree(LEAVES)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = _split(len(d))
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = _split(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return draw(st.integers(min_value=0, max_value=size - 1)), size


@st.composite
def size_pair(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(sizes)
    return draw(st.integers(min_value=1, max_value=size2)), size2


def test_exhaustive_small_trees_match_reference() -> None:
    for size2 in range(1, 33):
        d = LEAVES[:size2]
        assert TREE.root(size2) == _mth(d)
        for index in range(size2):
            assert TREE.inclusion_proof(index, size2) == _path(index, d)
        for size1 in range(1, size2 + 1):
            assert TREE.consistency_proof(size1, size2) == _subproof(size1, d, True)


@settings(max_examples=300, deadline=None)
@given(index_and_size())
def test_inclusion_proof_matches_reference_and_verifies(case: tuple[int, int]) -> None:
    index, size = case
    proof = TREE.inclusion_proof(index, size)
    assert proof == _path(index, LEAVES[:size])
    verify_inclusion(LEAVES[index], index, size, proof, TREE.root(size))


@settings(max_examples=300, deadline=None)
@given(size_pair())
def test_consistency_proof_matches_reference_and_verifies(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = TREE.consistency_proof(size1, size2)
    assert proof == _subproof(size1, LEAVES[:size2], True)
    verify_consistency(size1, size2, proof, TREE.root(size1), TREE.root(size2))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_root_matches_reference(size: int) -> None:
    assert TREE.root(size) == _mth(LEAVES[:size])
    assert [n.end - n.begin for n in root_nodes(size)] == sorted(
        (1 << b for b in range(size.bit_length()) if size >> b & 1), reverse=True
    )


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=150), st.integers(min_value=0, max_value=150))
def test_compact_range_resumes_from_stored_state(size: int, more: int) -> None:
    stored: dict[NodeID, bytes] = {}
    original = CompactRange()
    for h in LEAVES[:size]:
        original.append(h, stored.__setitem__)
    # Every perfect node of the tree was reported, with the reference hash.
    assert len(stored) == 2 * size - size.bit_count()
    for node_id, value in stored.items():
        assert node_id.end <= size
        assert value == _mth(LEAVES[node_id.begin : node_id.end])
    assert original.hashes == tuple(stored[n] for n in root_nodes(size))

    resumed = CompactRange(size, original.hashes)
    assert resumed.root() == original.root() == _mth(LEAVES[:size])
    for i, h in enumerate(LEAVES[size : size + more], start=size + 1):
        original.append(h)
        resumed.append(h)
        assert resumed.size == i
        assert resumed.root() == original.root() == TREE.root(i)


def _tamperings(proof: list[bytes]) -> list[tuple[str, list[bytes]]]:
    out: list[tuple[str, list[bytes]]] = []
    for i, h in enumerate(proof):
        for bit in (0, 77, 255):
            flipped = bytearray(h)
            flipped[bit // 8] ^= 1 << (bit % 8)
            out.append((f"flip {i}:{bit}", [*proof[:i], bytes(flipped), *proof[i + 1 :]]))
    if proof:
        out.append(("truncated", proof[:-1]))
        out.append(("dropped first", proof[1:]))
    out.append(("extended", [*proof, LEAVES[0]]))
    out.append(("prepended", [LEAVES[0], *proof]))
    return out


def _assert_rejected(verify: Callable[..., None], *args: object) -> None:
    with pytest.raises(MerkleError):
        verify(*args)


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1, *h[1:]])


@settings(max_examples=150, deadline=None)
@given(index_and_size())
def test_tampered_inclusion_proofs_are_rejected(case: tuple[int, int]) -> None:
    index, size = case
    leaf, proof, root = LEAVES[index], TREE.inclusion_proof(index, size), TREE.root(size)
    for _name, bad in _tamperings(proof):
        _assert_rejected(verify_inclusion, leaf, index, size, bad, root)
    # Tree sizes are not tampered with: RFC 9162 roots do not commit to the size
    # (size 3 and 4 can share a proof shape), which is why checkpoints sign it.
    for other in {index - 1, index + 1, index ^ 2, size}:
        if other != index:
            _assert_rejected(verify_inclusion, leaf, other, size, proof, root)
    _assert_rejected(verify_inclusion, leaf + b"\0", index, size, proof, root)
    _assert_rejected(verify_inclusion, _flip(leaf), index, size, proof, root)
    _assert_rejected(verify_inclusion, leaf, index, size, proof, _flip(root))


@settings(max_examples=150, deadline=None)
@given(size_pair())
def test_tampered_consistency_proofs_are_rejected(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = TREE.consistency_proof(size1, size2)
    root1, root2 = TREE.root(size1), TREE.root(size2)
    for _name, bad in _tamperings(proof):
        _assert_rejected(verify_consistency, size1, size2, bad, root1, root2)
    _assert_rejected(verify_consistency, 0, size2, proof, root1, root2)
    if size1 != size2:
        _assert_rejected(verify_consistency, size2, size1, proof, root1, root2)
    _assert_rejected(verify_consistency, size1, size2, proof, _flip(root1), root2)
    _assert_rejected(verify_consistency, size1, size2, proof, root1, _flip(root2))


def test_precondition_errors() -> None:
    with pytest.raises(IndexOutOfRangeError):
        inclusion_nodes(5, 5)
    with pytest.raises(IndexOutOfRangeError):
        inclusion_nodes(-1, 5)
    with pytest.raises(InvalidSizeError):
        consistency_nodes(0, 3)
    with pytest.raises(InvalidSizeError):
        consistency_nodes(4, 3)
    assert consistency_nodes(3, 3).ids == ()
    with pytest.raises(InvalidSizeError):
        root_nodes(-1)
    with pytest.raises(ProofLengthError):
        inclusion_nodes(0, 3).rehash([])
    with pytest.raises(InvalidSizeError):
        CompactRange(3, [LEAVES[0]])
    with pytest.raises(HashSizeError):
        CompactRange(1, [b"short"])
    with pytest.raises(HashSizeError):
        CompactRange().append(b"short")
    with pytest.raises(InvalidSizeError):
        TREE.root(MAX_SIZE + 1)
    with pytest.raises(InvalidSizeError):
        TREE.inclusion_proof(0, MAX_SIZE + 1)
    with pytest.raises(InvalidSizeError):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ValueError, match="level"):
        NodeID(-1, 0)


def test_root_mismatch_error_shows_both_roots_in_hex() -> None:
    with pytest.raises(RootMismatchError) as info:
        verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[1])
    assert info.value.expected == LEAVES[1]
    assert info.value.calculated == LEAVES[0]
    assert LEAVES[0].hex() in str(info.value)
    assert LEAVES[1].hex() in str(info.value)


def test_proof_nodes_name_the_ephemeral_node() -> None:
    # Size 7: the proof for leaf 0 needs (0,1), (1,1) and the ephemeral node over
    # leaves 4-6, which is stored as (1,2) and (0,6), folded right to left.
    nodes = inclusion_nodes(0, 7)
    assert nodes.ids == (NodeID(0, 1), NodeID(1, 1), NodeID(1, 2), NodeID(0, 6))
    assert nodes.ids[nodes.begin : nodes.end] == (NodeID(1, 2), NodeID(0, 6))
    hashes = [TREE.node(n) for n in nodes.ids]
    assert nodes.rehash(hashes) == [hashes[0], hashes[1], node_hash(hashes[2], hashes[3])]
    # A node whose whole path lies inside perfect subtrees has no ephemeral node.
    assert inclusion_nodes(3, 4).begin == inclusion_nodes(3, 4).end == 0
