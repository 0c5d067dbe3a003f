"""Steps 1-3 of a verified read (``ledger.read.verified``): what a stored record row must
satisfy on its own, before any proof. Nothing here trusts a stored hash: each is
recomputed from the bytes and compared, and a column of the wrong type (an insider's
``CAST``) is refused rather than failing a caller on its type."""

from __future__ import annotations

import hashlib
import json
import struct

import orjson

from ledger.errors import IntegrityError
from ledger.keys import KEY_ID_SIZE, SIGNATURE_SIZE
from ledger.merkle import HASH_SIZE
from ledger.record import Record, chain_hash, entry_hash
from ledger.store.log import StoredRecord


def check_row(record: StoredRecord) -> None:
    """Step 3 of ``ledger.read.verified``: the entry's id, type and org are the row's
    columns, and the stored chain hash follows the leaf (both derived columns)."""
    if record.chain_hash != chain_hash(record.prev_chain_hash, record.leaf_hash):
        raise IntegrityError(record.seq, "the stored chain hash does not follow its leaf")
    entry = _entry_object(record)
    columns = (record.entry_id, record.entry_type, record.org_id)
    if (
        not isinstance(entry, dict)
        or (
            entry.get("entryId"),
            entry.get("type"),
            entry.get("org"),
        )
        != columns
    ):
        raise IntegrityError(record.seq, "the stored entry id, type or org is not the entry's")


def _entry_object(record: StoredRecord) -> object:
    """The JSON value of the record's entry, for step 3's three strings: by orjson, several
    times faster on pages of whole ranges, which reads strings (and duplicate members)
    as ``json.loads`` does; by ``json.loads`` for what orjson refuses."""
    try:
        return orjson.loads(record.entry)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(record.entry)
    except ValueError:
        raise IntegrityError(record.seq, "the entry bytes are not JSON") from None


def row_binding(record: StoredRecord) -> bytes:
    """Steps 1-2 of ``ledger.read.verified``, and a digest of what step 4 proves about the
    row (``IntegrityError`` if the stored hashes do not follow from the bytes)."""
    binary: tuple[object, ...] = (record.entry, record.entry_hash, record.leaf_hash)
    binary += (record.chain_hash, record.prev_chain_hash, record.key_id, record.signature)
    if not all(isinstance(value, bytes) for value in binary):
        # e.g. SQLite's CAST(entry AS TEXT): the same bytes, another storage class.
        raise IntegrityError(record.seq, "a stored binary column of the record is not binary")
    names = (record.entry_id, record.entry_type, record.org_id)
    if not all(isinstance(value, str) for value in names):
        raise IntegrityError(record.seq, "a stored text column of the record is not text")
    digest = entry_hash(record.entry)
    if digest != record.entry_hash:
        raise IntegrityError(record.seq, "the entry bytes do not hash to the stored entry hash")
    sizes = (len(record.prev_chain_hash), len(record.key_id), len(record.signature))
    if sizes != (HASH_SIZE, KEY_ID_SIZE, SIGNATURE_SIZE):
        # The layout would pad or cut them, and the bytes served would not be those proven.
        raise IntegrityError(record.seq, f"the record's hash, key id, signature sizes are {sizes}")
    try:
        leaf = Record(
            record.seq,
            record.timestamp_us,
            record.prev_chain_hash,
            digest,
            record.key_id,
            record.signature,
        ).leaf_hash()
    except struct.error:  # a seq or timestamp out of the layout's range: no leaf at all
        raise IntegrityError(record.seq, "the record's fields do not form a leaf") from None
    if leaf != record.leaf_hash:
        raise IntegrityError(record.seq, "the record's fields do not hash to the stored leaf hash")
    bound = "\0".join(names).encode()
    return hashlib.sha256(leaf + record.chain_hash + bound).digest()
