"""Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.

A port of the transparency-dev/merkle verifier: instead of recursing, it
splits a proof into the *inner* part (siblings below the point where the path
to the leaf leaves the tree's right border) and the *border* part (left
siblings along the right border), and chains hashes bottom-up. Every failure
raises a :class:`~ledger.merkle.errors.MerkleError`; success returns ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.merkle.errors import (
    HashSizeError,
    IndexOutOfRangeError,
    InvalidSizeError,
    ProofLengthError,
    RootMismatchError,
)
from ledger.merkle.hashing import HASH_SIZE, node_hash


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Requires ``0 <= index < size``.
    """
    _check_match(root_from_inclusion_proof(leaf_hash, index, size, proof), root)


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Root of the tree of ``size`` implied by ``proof`` for leaf ``index``.

    Requires ``0 <= index < size``, a 32-byte ``leaf_hash`` and exactly as many
    32-byte proof hashes as the index and size imply.
    """
    if not 0 <= index < size:
        raise IndexOutOfRangeError(index, size)
    _check_hash_size("leaf hash", leaf_hash)
    inner, border = _decompose_inclusion(index, size)
    _check_proof(proof, inner + border)
    seed = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(seed, proof[inner:])


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the one of ``size1`` with ``root1``.

    Requires ``0 < size1 <= size2``: a proof from the empty tree proves nothing,
    so it is refused even for ``0 == size2``. Equal sizes require an empty proof
    and equal roots.
    """
    if size1 > size2:
        raise InvalidSizeError(f"size1 {size1} is greater than size2 {size2}")
    if size1 <= 0:
        raise InvalidSizeError(f"consistency proof from tree size {size1} is meaningless")
    if size1 == size2:
        _check_proof(proof, 0)
        _check_match(root1, root2)
        return

    inner, border = _decompose_inclusion(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zeros of size1
    inner -= shift  # shift < inner because size1 < size2
    # The proof starts with the hash of the subtree of 2^shift leaves ending at
    # leaf size1-1, unless that subtree is the whole old tree (root1 itself).
    if size1 == 1 << shift:
        seed, rest = root1, proof
        _check_proof(proof, inner + border)
    else:
        _check_proof(proof, 1 + inner + border)
        seed, rest = proof[0], proof[1:]
    # ``rest`` is now a suffix of the inclusion proof of leaf size1-1 in size2.
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    _check_match(hash1, root1)
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    _check_match(hash2, root2)


def _decompose_inclusion(index: int, size: int) -> tuple[int, int]:
    """Lengths of the inner and border parts of leaf ``index``'s proof in ``size``.

    The inner part ends where the paths to leaves ``index`` and ``size - 1``
    diverge; above it every proof hash is a left sibling on the right border.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Hash up from ``seed`` at ``index``, the bits of which say left or right."""
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like :func:`_chain_inner` but only with left siblings: the older tree's view."""
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Hash up the right border, where every proof hash is a left sibling."""
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def _check_proof(proof: Sequence[bytes], want: int) -> None:
    if len(proof) != want:
        raise ProofLengthError(len(proof), want)
    for h in proof:
        _check_hash_size("proof hash", h)


def _check_hash_size(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise HashSizeError(what, len(h), HASH_SIZE)


def _check_match(calculated: bytes, expected: bytes) -> None:
    if calculated != expected:
        raise RootMismatchError(expected, calculated)
