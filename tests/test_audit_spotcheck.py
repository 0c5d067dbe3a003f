"""Buyers' spot checks (``verify-entry``): documents built from a real ledger's records
and proofs, altered ones refused, and the fetch through a real gateway proven against
the checkpoint it fetched first."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.audit.spotcheck import SpotCheckFailure, verify_entry_document
from clients.sdk import LedgerClient
from clients.verify_entry_cli import fetch_entry_documents
from ledger.keys import encode_public_key
from ledger.note import NoteVerifier
from ledger.record import Record, entry_hash
from ledger.server import LedgerServer
from ledger.store.database import sqlite_url
from tests.ledger_fixtures import AUDITOR, SUPPLIER, running_server
from tests.test_audit_mix import Ledger, populate
from tests.test_gateway_support import environment


def document(client: LedgerClient, seq: int, size: int) -> dict[str, Any]:
    r = client.get_entry(seq=seq)
    return {
        "seq": r.seq,
        "timestampUs": r.timestamp_us,
        "entry": base64.b64encode(r.entry).decode(),
        "keyId": r.key_id.hex(),
        "signature": base64.b64encode(r.signature).decode(),
        "prevChainHash": r.prev_chain_hash.hex(),
        "leafHash": r.leaf_hash.hex(),
        "chainHash": r.chain_hash.hex(),
        "inclusion": {
            "treeSize": size,
            "leafIndex": seq,
            "proof": [h.hex() for h in client.inclusion_proof(seq, size)],
        },
    }


@pytest.fixture
def ledger_docs(tmp_path: Path) -> Any:
    with running_server(tmp_path, sqlite_url(tmp_path)) as server:
        with LedgerClient(server.grpc_target) as plain:
            ledger = populate(plain, server)
        with LedgerClient(server.grpc_target, ledger.auditor) as client:
            note = client.checkpoint().note
            size = client.checkpoint().size
            docs = {seq: document(client, seq, size) for seq in range(size)}
        yield server, ledger, note, docs


def test_entry_with_its_key_record_is_proven(
    ledger_docs: tuple[LedgerServer, Ledger, str, dict[int, dict[str, Any]]],
) -> None:
    server, ledger, note, docs = ledger_docs
    key = NoteVerifier.from_vkey(server.vkey)
    seq = ledger.seqs["grant"]  # signed with the supplier's rotated key
    doc = dict(docs[seq], keyRecord=docs[ledger.seqs["rotation"]])
    result = verify_entry_document(note, doc, key)
    assert result.seq == seq and result.key_proven and result.entry["type"] == "grant"
    # The key record must introduce the signer's key, for the same org, earlier.
    with pytest.raises(SpotCheckFailure, match="record's key id"):
        verify_entry_document(note, dict(docs[seq], keyRecord=docs[1]), key)
    with pytest.raises(SpotCheckFailure, match="does not introduce a key"):
        verify_entry_document(note, dict(docs[seq], keyRecord=docs[2]), key)
    # Without a key record, a given public key is checked against the record's key id.
    given = verify_entry_document(note, docs[seq], key, ledger.supplier.public_key)
    assert not given.key_proven
    served = dict(docs[seq], signerPublicKey=encode_public_key(ledger.supplier.public_key))
    assert verify_entry_document(note, served, key).seq == seq


def test_altered_documents_are_refused(
    ledger_docs: tuple[LedgerServer, Ledger, str, dict[int, dict[str, Any]]],
) -> None:
    server, ledger, note, docs = ledger_docs
    key = NoteVerifier.from_vkey(server.vkey)
    seq = ledger.seqs["gec"]
    pub = ledger.buyer.public_key
    entry = base64.b64decode(docs[seq]["entry"]).replace(b"1575", b"1576")
    edited = dict(docs[seq], entry=base64.b64encode(entry).decode())
    with pytest.raises(SpotCheckFailure, match="leaf hash does not match"):
        verify_entry_document(note, edited, key, pub)
    wrong_proof = copy.deepcopy(docs[seq])
    wrong_proof["inclusion"]["proof"][0] = "00" * 32
    with pytest.raises(SpotCheckFailure, match="not in the signed tree"):
        verify_entry_document(note, wrong_proof, key, pub)
    with pytest.raises(SpotCheckFailure, match="not in the signed tree"):
        verify_entry_document(note, _resigned(docs[seq], ledger.buyer.private_key), key, pub)
    with pytest.raises(SpotCheckFailure, match="not signed by the pinned ledger key"):
        verify_entry_document(note.replace("\n—", "\n— x", 1), docs[seq], key, pub)


def _resigned(doc: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Another entry re-signed with the right key, its leaf and chain hash recomputed
    by an insider: consistent in itself, but not the leaf the ledger signed."""
    entry = base64.b64decode(doc["entry"]).replace(b"1575", b"1576")
    rec = Record(
        doc["seq"],
        doc["timestampUs"],
        bytes.fromhex(doc["prevChainHash"]),
        entry_hash(entry),
        bytes.fromhex(doc["keyId"]),
        private_key.sign(entry),
    )
    return dict(
        doc,
        entry=base64.b64encode(entry).decode(),
        signature=rec.signature.hex(),
        leafHash=rec.leaf_hash().hex(),
        chainHash=rec.chain_hash().hex(),
    )


def test_the_entry_is_proven_against_the_checkpoint_fetched_first(tmp_path: Path) -> None:
    """Issue 16: ``verify-entry`` asked for ``?treeSize=``, which the gateway ignores, so
    the proof came for the newest tree, not for the checkpoint fetched before it. Here the
    log grows and a new checkpoint is signed between the two requests (a real gateway;
    the transport only submits in between), and the proof must still be for the first."""
    with environment(tmp_path, sqlite_url(tmp_path)) as env:
        env.footprint(SUPPLIER, "urn:pact:product:cell:lfp-280ah")
        client_id, secret = env.credentials(AUDITOR)

        class GrowsAfterCheckpoint(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                answer = super().handle_request(request)
                if request.url.path == "/v1/checkpoint":
                    env.footprint(SUPPLIER, "urn:pact:product:cell:lfp-314ah")
                    env.server.checkpointer.refresh()
                return answer

        note, doc = fetch_entry_documents(
            env.url, client_id, secret, 1, transport=GrowsAfterCheckpoint()
        )
        fetched_size = int(note.split("\n")[1])
        assert env.server.checkpointer.latest().size > fetched_size
        assert doc["inclusion"]["treeSize"] == fetched_size
        proven = verify_entry_document(
            note, doc, NoteVerifier.from_vkey(env.server.vkey), env.operator.public_key
        )
        assert proven.seq == 1
