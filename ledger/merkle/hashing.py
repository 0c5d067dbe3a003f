"""RFC 9162 §2.1.1 hashing: SHA-256 with domain separation of leaves and nodes.

The 0x00 / 0x01 prefixes make a leaf hash and an interior node hash of the same
bytes differ, which rules out second-preimage attacks that present an interior
node as a leaf.
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of a leaf holding ``data``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node.

    Precondition: ``left`` and ``right`` are child hashes of :data:`HASH_SIZE`
    bytes; this function does not check, callers validate untrusted input.
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()
