"""docs/ledger-format.md's worked example must be what the code produces."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.canonical import canonicalize, parse_canonical
from ledger.keys import encode_public_key, key_id, public_key_bytes
from ledger.merkle import MerkleTree
from ledger.record import GENESIS_CHAIN_HASH, LEAF_SIZE, Record, entry_hash

DOC = (Path(__file__).resolve().parent.parent / "docs" / "ledger-format.md").read_text()


def test_worked_example_matches_the_code() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
    public = public_key_bytes(key)
    entry = {
        "type": "org.enroll",
        "entryId": "6f1c2a4e-3b7d-4c1e-9a55-2f8e0d7c9b10",
        "org": "urn:carbonledger:org:operator",
        "orgId": "urn:carbonledger:org:operator",
        "name": "Ledger operator",
        "roles": ["operator"],
        "publicKey": encode_public_key(public),
    }
    data = canonicalize(entry)
    assert parse_canonical(data) == entry
    record = Record(
        0, 1767225600000000, GENESIS_CHAIN_HASH, entry_hash(data), key_id(public), key.sign(data)
    )
    assert len(record.leaf()) == LEAF_SIZE == 177
    assert Record.from_leaf(record.leaf()) == record
    for value in (
        encode_public_key(public),
        key_id(public).hex(),
        data.decode(),
        entry_hash(data).hex(),
        record.signature.hex(),
        record.leaf().hex(),
        record.leaf_hash().hex(),
        record.chain_hash().hex(),
        MerkleTree([record.leaf_hash()]).root().hex(),
    ):
        assert value in DOC, f"docs/ledger-format.md is stale: {value[:40]}... missing"
