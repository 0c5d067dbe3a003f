"""A buyer's spot check: one entry, proven in the signed tree, without the log.

Input is two documents a gateway serves: the signed checkpoint note
(``GET /v1/checkpoint``) and the entry document (``GET /v1/entries/{seq}``)::

    {"seq": 7, "timestampUs": ..., "entry": "<base64 of the exact entry bytes>",
     "keyId": "<hex>", "signature": "<hex or base64>", "prevChainHash": "<hex>",
     "leafHash": "<hex>", "chainHash": "<hex>",
     "inclusion": {"treeSize": N, "leafIndex": 7, "proof": ["<hex>", ...]},
     "signerPublicKey": "<base64, optional>", "keyRecord": {<same shape, optional>}}

(snake_case member names, as older gateways served them, are accepted too; hashes
may be hex or base64.) The check recomputes the leaf from the entry bytes and
record fields, proves it in the checkpoint's tree, and verifies the entry's signature with the
signer's public key, which must hash to the record's key id. When the
document carries ``keyRecord`` (the ``org.enroll``/``key.rotate``/``key.add``
that introduced the key), that record is proven in the same tree and must
precede the entry and introduce that key for the same org. Whether the key
was revoked before the entry is a question about the whole log: a spot check
relies on the ledger's rules for that, an audit checks it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from clients.audit.checkpoints import CheckpointFailure, open_signed
from ledger.keys import decode_public_key, key_id, verify_signature
from ledger.merkle import MerkleError, verify_inclusion
from ledger.note import Checkpoint, NoteVerifier
from ledger.record import Record, entry_hash


class SpotCheckFailure(Exception):
    """The entry is not proven: the reason names the first thing that does not hold."""


@dataclass(frozen=True)
class SpotCheck:
    seq: int
    checkpoint: Checkpoint
    entry: dict[str, Any]
    key_proven: bool


def _get(doc: dict[str, Any], camel: str) -> Any:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    if camel in doc:
        return doc[camel]
    if snake in doc:
        return doc[snake]
    raise SpotCheckFailure(f"entry document has no {camel!r}")


def _bytes(value: Any, what: str) -> bytes:
    """Hex or standard base64."""
    if not isinstance(value, str):
        raise SpotCheckFailure(f"{what} is not a string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        pass
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SpotCheckFailure(f"{what} is neither hex nor base64") from None


def _entry_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise SpotCheckFailure("entry is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SpotCheckFailure("entry is not valid base64") from None


def _proven_record(doc: dict[str, Any], checkpoint: Checkpoint) -> tuple[int, bytes, Record]:
    """The record of ``doc``, recomputed and proven in ``checkpoint``'s tree."""
    seq = int(_get(doc, "seq"))
    entry = _entry_bytes(_get(doc, "entry"))
    record = Record(
        seq,
        int(_get(doc, "timestampUs")),
        _bytes(_get(doc, "prevChainHash"), "prevChainHash"),
        entry_hash(entry),
        _bytes(_get(doc, "keyId"), "keyId"),
        _bytes(_get(doc, "signature"), "signature"),
    )
    try:
        leaf = record.leaf_hash()
    except Exception as exc:  # struct errors: a field of the wrong size
        raise SpotCheckFailure(f"seq {seq}: record fields do not form a leaf: {exc}") from None
    if leaf != _bytes(_get(doc, "leafHash"), "leafHash"):
        raise SpotCheckFailure(f"seq {seq}: the leaf hash does not match the entry and record")
    if record.chain_hash() != _bytes(_get(doc, "chainHash"), "chainHash"):
        raise SpotCheckFailure(f"seq {seq}: the chain hash does not match")
    proof = _get(doc, "inclusion")
    size = int(_get(proof, "treeSize"))
    if size != checkpoint.size:
        raise SpotCheckFailure(
            f"seq {seq}: the inclusion proof is for size {size}, "
            f"the checkpoint is of size {checkpoint.size}"
        )
    hashes = [_bytes(h, "proof hash") for h in _get(proof, "proof")]
    try:
        verify_inclusion(leaf, seq, size, hashes, checkpoint.root_hash)
    except MerkleError as exc:
        raise SpotCheckFailure(f"seq {seq} is not in the signed tree: {exc}") from None
    return seq, entry, record


def verify_entry_document(
    checkpoint_note: str,
    document: dict[str, Any],
    ledger: NoteVerifier,
    signer_public_key: bytes | None = None,
) -> SpotCheck:
    """Check one entry document against a signed checkpoint; raise ``SpotCheckFailure``."""
    try:
        checkpoint = open_signed(checkpoint_note, ledger)
    except CheckpointFailure as exc:
        raise SpotCheckFailure(exc.failure.reason) from None
    try:
        seq, entry, record = _proven_record(document, checkpoint)
        obj = json.loads(entry)
        key_doc = document.get("keyRecord") or document.get("key_record")
        key_proven = False
        if key_doc is not None:
            signer_public_key = _introduced_key(key_doc, checkpoint, seq, obj["org"])
            key_proven = True
        elif signer_public_key is None:
            given = document.get("signerPublicKey") or document.get("signer_public_key")
            if given is None:
                raise SpotCheckFailure("no signer public key given or served")
            signer_public_key = decode_public_key(str(given))
    except (KeyError, TypeError, ValueError) as exc:
        raise SpotCheckFailure(f"entry document is malformed: {exc!r}") from None
    if key_id(signer_public_key) != record.key_id:
        raise SpotCheckFailure(f"seq {seq}: the record's key id is not the signer key's id")
    if not verify_signature(signer_public_key, record.signature, entry):
        raise SpotCheckFailure(f"seq {seq}: the entry's signature does not verify")
    return SpotCheck(seq, checkpoint, obj, key_proven)


def _introduced_key(doc: dict[str, Any], checkpoint: Checkpoint, seq: int, org: str) -> bytes:
    key_seq, entry, _ = _proven_record(doc, checkpoint)
    if key_seq >= seq:
        raise SpotCheckFailure(f"key record seq {key_seq} does not precede seq {seq}")
    obj = json.loads(entry)
    member = {"org.enroll": "publicKey", "key.add": "publicKey", "key.rotate": "newPublicKey"}
    name = member.get(obj.get("type"))
    if name is None or obj.get("orgId") != org:
        raise SpotCheckFailure(f"key record seq {key_seq} does not introduce a key of {org}")
    return decode_public_key(obj[name])
