"""The record: what the ledger adds to an entry, and the leaf of the Merkle tree.

A record binds an entry (by its SHA-256) to its sequence number, the ledger's
timestamp, the signer's key id and signature, and the previous record's chain
hash. Its leaf bytes have a fixed layout (``docs/ledger-format.md``)::

    version(1) = 0x01 | seq(8, BE) | timestamp_us(8, BE signed) | prev_chain_hash(32)
    | entry_hash(32) | key_id(32) | signature(64)                 = 177 bytes

The chain hash of record n is ``SHA-256(chain_hash[n-1] ‖ leaf_hash[n])`` with
32 zero bytes before record 0, so each record's chain hash covers every earlier
record, and the Merkle leaf hash covers the signature and the entry.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from ledger.keys import KEY_ID_SIZE, SIGNATURE_SIZE
from ledger.merkle import leaf_hash

RECORD_VERSION = 1
GENESIS_CHAIN_HASH = bytes(32)
_LAYOUT = struct.Struct(f">BQq32s32s{KEY_ID_SIZE}s{SIGNATURE_SIZE}s")
LEAF_SIZE = _LAYOUT.size


class RecordFormatError(ValueError):
    """Leaf bytes that do not follow the record layout."""


def entry_hash(entry: bytes) -> bytes:
    """SHA-256 of the exact entry bytes."""
    return hashlib.sha256(entry).digest()


def chain_hash(prev_chain_hash: bytes, leaf_hash_: bytes) -> bytes:
    """The hash chain link: SHA-256(prev_chain_hash ‖ leaf_hash)."""
    return hashlib.sha256(prev_chain_hash + leaf_hash_).digest()


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    timestamp_us: int
    prev_chain_hash: bytes
    entry_hash: bytes
    key_id: bytes
    signature: bytes

    def leaf(self) -> bytes:
        return _LAYOUT.pack(
            RECORD_VERSION,
            self.seq,
            self.timestamp_us,
            self.prev_chain_hash,
            self.entry_hash,
            self.key_id,
            self.signature,
        )

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf())

    def chain_hash(self) -> bytes:
        return chain_hash(self.prev_chain_hash, self.leaf_hash())

    @classmethod
    def from_leaf(cls, data: bytes) -> Record:
        if len(data) != LEAF_SIZE:
            raise RecordFormatError(f"a record leaf has {LEAF_SIZE} bytes, got {len(data)}")
        version, seq, ts, prev, ehash, kid, sig = _LAYOUT.unpack(data)
        if version != RECORD_VERSION:
            raise RecordFormatError(f"unknown record version {version}")
        return cls(seq, ts, prev, ehash, kid, sig)
