"""Typed errors of the Merkle package.

Every failure is raised, never signalled by a return value, so a caller cannot
accidentally treat an unchecked proof as valid. All errors derive from
:class:`MerkleError`.
"""

from __future__ import annotations


class MerkleError(Exception):
    """Base class of every error raised by :mod:`ledger.merkle`."""


class RootMismatchError(MerkleError):
    """A root recomputed from a proof differs from the expected root."""

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        self.expected = expected
        self.calculated = calculated
        super().__init__(
            f"calculated root {calculated.hex()} does not match expected root {expected.hex()}"
        )


class ProofLengthError(MerkleError):
    """A proof (or a list of fetched node hashes) has the wrong number of hashes."""

    def __init__(self, got: int, want: int) -> None:
        self.got = got
        self.want = want
        super().__init__(f"wrong number of hashes: got {got}, want {want}")


class IndexOutOfRangeError(MerkleError):
    """A leaf index is not smaller than the tree size (or is negative)."""

    def __init__(self, index: int, size: int) -> None:
        self.index = index
        self.size = size
        super().__init__(f"leaf index {index} is out of range for tree size {size}")


class InvalidSizeError(MerkleError):
    """A tree size, or a pair of tree sizes, that the operation does not accept."""


class HashSizeError(MerkleError):
    """A hash that is not exactly :data:`~ledger.merkle.hashing.HASH_SIZE` bytes long."""

    def __init__(self, what: str, got: int, want: int) -> None:
        self.got = got
        self.want = want
        super().__init__(f"{what} has {got} bytes, want {want}")
