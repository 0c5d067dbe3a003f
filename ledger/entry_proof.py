"""Proof bundles of entries: a c2sp.org/tlog-proof (``ledger.note.tlog_proof``) whose
extra data is the record's 177-byte leaf followed by the exact entry bytes.

With them a bundle is self-contained: anyone holding it and the ledger's vkey (and,
optionally, a witness policy) checks offline, in this order, that

1. the checkpoint note is signed by the ledger's key for its origin, and satisfies
   the policy's quorum of witness cosignatures when a policy is given;
2. the extra data is a version-1 leaf (``docs/ledger-format.md`` §3) and entry bytes;
3. the leaf's ``seq`` is the proof's index and its ``entry_hash`` is the SHA-256 of
   the entry bytes;
4. the leaf hash is included, by the proof, in the checkpoint's tree.

The extra data is unauthenticated as the spec says, until step 4 ties it to the
signed root. The entry's own signature is checked when the signer's public key is
given (its SHA-256 must be the leaf's key id); whether that key was enrolled and
unrevoked at the time is a question about the whole log, for an audit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.keys import key_id, verify_signature
from ledger.merkle import MerkleError, verify_inclusion
from ledger.note import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from ledger.note.tlog_policy import TlogPolicy
from ledger.note.tlog_proof import TlogProof
from ledger.record import LEAF_SIZE, Record, RecordFormatError, entry_hash


class EntryProofError(Exception):
    """The bundle does not prove its entry; the message names the first step that fails."""


@dataclass(frozen=True)
class ProvenEntry:
    """What a bundle proved: the record in the signed tree and its exact entry."""

    checkpoint: Checkpoint
    record: Record
    entry: bytes
    cosigners: tuple[str, ...]
    signature_checked: bool

    def entry_object(self) -> dict[str, Any]:
        """The entry as JSON (it is canonical JSON, signed as such); {} if not an object."""
        try:
            found = json.loads(self.entry)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


def entry_proof(record: Record, entry: bytes, proof: Sequence[bytes], note: str) -> TlogProof:
    """The bundle of ``record`` (with its ``entry`` bytes), included by ``proof`` in the
    tree of the checkpoint ``note``."""
    return TlogProof(record.seq, tuple(proof), note, record.leaf() + entry)


def open_entry_proof(
    text: str,
    ledger: NoteVerifier,
    policy: TlogPolicy | None = None,
    signer_public_key: bytes | None = None,
) -> ProvenEntry:
    """Check a bundle (steps 1-4 of the module docstring, then the entry's signature
    when ``signer_public_key`` is given); raise :class:`EntryProofError`."""
    try:
        bundle = TlogProof.parse(text)
        checkpoint = open_checkpoint(bundle.checkpoint, ledger)
        cosigners = () if policy is None else policy.check(bundle.checkpoint, [ledger])
    except NoteError as exc:
        raise EntryProofError(f"the bundle or its checkpoint does not verify: {exc}") from None
    record, entry = _split_extra(bundle.extra)
    if record.seq != bundle.index:
        raise EntryProofError(f"the leaf is of seq {record.seq}, the proof of {bundle.index}")
    if record.entry_hash != entry_hash(entry):
        raise EntryProofError(f"seq {record.seq}: the entry bytes are not the leaf's entry")
    try:
        verify_inclusion(
            record.leaf_hash(), record.seq, checkpoint.size, bundle.proof, checkpoint.root_hash
        )
    except MerkleError as exc:
        raise EntryProofError(f"seq {record.seq} is not in the signed tree: {exc}") from None
    checked = signer_public_key is not None
    if signer_public_key is not None:
        if key_id(signer_public_key) != record.key_id:
            raise EntryProofError(f"seq {record.seq}: the leaf's key id is not the signer key's")
        if not verify_signature(signer_public_key, record.signature, entry):
            raise EntryProofError(f"seq {record.seq}: the entry's signature does not verify")
    return ProvenEntry(checkpoint, record, entry, cosigners, checked)


def _split_extra(extra: bytes | None) -> tuple[Record, bytes]:
    if extra is None or len(extra) < LEAF_SIZE:
        raise EntryProofError(f"the extra data must be a {LEAF_SIZE}-byte leaf and the entry")
    try:
        return Record.from_leaf(extra[:LEAF_SIZE]), extra[LEAF_SIZE:]
    except RecordFormatError as exc:
        raise EntryProofError(f"the extra data's leaf: {exc}") from None
