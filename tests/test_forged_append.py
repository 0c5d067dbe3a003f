"""A record an insider appends to the store, its hashes and Merkle node made to fit but
its signature forged, is not signed into the log (red team, 2026-12-07, F1): a forged
grant of a supplier's footprint to a buyer was signed at the next checkpoint and then
opened the footprint, its entry bytes and its computed view to that buyer, health green.
The checkpointer now verifies, before a checkpoint covers it, the signature of every
record its own sequencer did not commit."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.errors import IntegrityError
from ledger.keys import encode_public_key, new_private_key
from ledger.record import Record, entry_hash
from ledger.store.database import Database
from ledger.store.log import LogWriter, StoredRecord
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import environment
from tests.test_verified_reads import grpc_health
from tests.test_verified_reads import health_pb2 as health


def _append_forged_grant(
    db_url: str, key_id: bytes, signature: bytes, entry: bytes, entry_type: str = "grant"
) -> int:
    """The insider's append: a record (a ``grant`` unless said) with every hash and its
    leaf node right. Its seq."""
    db = Database(db_url)
    try:
        with db.write() as conn:
            writer = LogWriter(conn)
            seq, now = writer.size, time.time_ns() // 1000
            record = Record(seq, now, writer.last_chain_hash, entry_hash(entry), key_id, signature)
            grant_id = entry.split(b'"entryId":"')[1][:36].decode()
            writer.append(
                StoredRecord(
                    seq,
                    now,
                    grant_id,
                    entry_type,
                    SUPPLIER,
                    key_id,
                    signature,
                    writer.last_chain_hash,
                    entry,
                    entry_hash(entry),
                    record.leaf_hash(),
                    record.chain_hash(),
                )
            )
            writer.flush()
            return seq
    finally:
        db.dispose()


def _grant_row(db_url: str, seq: int, grant_id: str, footprint_id: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO access_grant (entry_id, seq, grantor, grantee, footprint_id, "
                    "level, inventory) VALUES (:g, :s, :grantor, :grantee, :f, 'detail', false)"
                ),
                {"g": grant_id, "s": seq, "grantor": SUPPLIER, "grantee": BUYER, "f": footprint_id},
            )
    finally:
        db.dispose()


@pytest.mark.parametrize("forgery", ["bad signature", "another org's key", "a rotated key"])
def test_a_forged_record_appended_by_hand_is_not_signed_nor_served(
    tmp_path: Path, db_url: str, forgery: str
) -> None:
    with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
        fid, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:not-granted")
        env.server.checkpointer.refresh()
        assert buyer.get(f"/3/footprints/{fid}").status_code == 404
        grant = new_entry("grant", SUPPLIER, grantee=BUYER, level="detail", footprintId=fid)
        supplier = env.orgs[SUPPLIER]
        if forgery == "bad signature":  # the supplier's key id, a signature it never made
            signed = supplier.sign(grant)
            key_id, signature, entry = signed.key_id, bytes(64), signed.entry
        elif forgery == "another org's key":  # the buyer's valid signature, naming the supplier
            signed = env.orgs[BUYER].sign(grant)
            key_id, signature, entry = signed.key_id, signed.signature, signed.entry
        else:  # the supplier's own valid signature, with a key it has since rotated away
            rotated = OrgSigner(SUPPLIER, new_private_key())
            env.submit(
                SUPPLIER,
                new_entry(
                    "key.rotate",
                    SUPPLIER,
                    orgId=SUPPLIER,
                    newPublicKey=encode_public_key(rotated.public_key),
                ),
            )
            env.server.checkpointer.refresh()
            signed = supplier.sign(grant)
            key_id, signature, entry = signed.key_id, signed.signature, signed.entry
        seq = _append_forged_grant(db_url, key_id, signature, entry)
        _grant_row(db_url, seq, str(grant["entryId"]), fid)

        with pytest.raises(IntegrityError, match=f"record {seq} "):
            env.server.checkpointer.refresh()
        assert env.server.checkpointer.trusted_size == seq  # nothing past it signed
        assert grpc_health(env.server) == health.HealthCheckResponse.NOT_SERVING
        assert buyer.get("/healthz").status_code == 503
        for path in (f"/3/footprints/{fid}", f"/v1/entries/{receipt.seq}"):
            answer = buyer.get(path)
            assert answer.status_code != 200, (path, answer.text)
            assert "composition" not in answer.text
        with (
            LedgerClient(env.server.grpc_target, signer=env.orgs[BUYER]) as client,
            pytest.raises(grpc.RpcError),
        ):
            client.get_entry(seq=receipt.seq)


def test_records_another_process_appended_are_signed_when_genuine(
    tmp_path: Path, db_url: str
) -> None:
    """The check is not "only what I sequenced": a genuine record appended outside this
    process's sequencer (another ``serve`` on the same database) verifies and is signed."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:elsewhere")
        env.server.checkpointer.refresh()
        signed = env.orgs[SUPPLIER].sign(
            new_entry("grant", SUPPLIER, grantee=BUYER, level="summary", footprintId=fid)
        )
        seq = _append_forged_grant(db_url, signed.key_id, signed.signature, signed.entry)
        assert env.server.checkpointer.refresh().size == seq + 1
        # a rotation is signed with the key it ends: that key is still valid at its seq
        rotated = OrgSigner(SUPPLIER, new_private_key())
        rotation = env.orgs[SUPPLIER].sign(
            new_entry(
                "key.rotate",
                SUPPLIER,
                orgId=SUPPLIER,
                newPublicKey=encode_public_key(rotated.public_key),
            )
        )
        seq = _append_forged_grant(
            db_url, rotation.key_id, rotation.signature, rotation.entry, "key.rotate"
        )
        ended = env.server.identity.catch_up().keys[rotation.key_id]  # as a follower would
        assert ended.ended_seq == seq
        assert env.server.checkpointer.refresh().size == seq + 1
        assert grpc_health(env.server) == health.HealthCheckResponse.SERVING
