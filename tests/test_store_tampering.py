"""Rows an insider writes behind the ledger's back that the verified reads did not name
(red team, 2026-12-06): each is refused with the integrity alarm, not served and not a
generic 500 with health green.

* A ``cosignature`` row: a line claiming the ledger's own key, a line of a key that is
  not a configured witness, a line cut short of its newline. Served notes carry only
  lines that verify (configured witnesses) over the note.
* A record deleted from the middle of the signed tree: ``/v1/entries/{seq}`` was 404
  and ``StreamEntries`` left it out.
* On SQLite, a column cast to another storage class (same bytes): hashing a ``TEXT``
  entry raised a ``TypeError`` (500, gRPC ``UNKNOWN``), a ``BLOB`` note was served as
  the text ``b'…'``. The same for a Merkle node stored as an integer or text (red team,
  2026-12-06 night): the proof per record failed on its type, with health green.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import grpc
import httpx
import pytest
from sqlalchemy import text

from clients.sdk import LedgerClient
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.keys import new_private_key
from ledger.note import CosignatureSigner, open_checkpoint
from ledger.server import LedgerServer
from tests.ledger_fixtures import AUDITOR
from tests.test_gateway_support import environment
from tests.test_verified_reads import (
    assert_data_loss,
    assert_pact_refused,
    engine,
    grpc_health,
    record_footprints,
)
from tests.test_verified_reads import health_pb2 as health


def _insert_cosignature(db_url: str, size: int, name: str, key_hash: bytes, line: str) -> None:
    with engine(db_url) as eng, eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cosignature (size, name, key_hash, timestamp, line) "
                "VALUES (:s, :n, :k, 1, :l)"
            ),
            {"s": size, "n": name, "k": key_hash, "l": line},
        )


def _add_cosignature(server: LedgerServer, size: int, line: str) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        pb_grpc.LedgerStub(channel).AddCosignature(
            pb.AddCosignatureRequest(size=size, signature_line=line), timeout=30
        )


def _served_notes(server: LedgerServer, http: httpx.Client) -> list[str]:
    with grpc.insecure_channel(server.grpc_target) as channel:
        grpc_note: str = pb_grpc.LedgerStub(channel).GetCheckpoint(pb.GetCheckpointRequest()).note
    tlog = http.get("/tlog/checkpoint")
    assert tlog.status_code == 200, tlog.text
    return [grpc_note, tlog.text]


@pytest.mark.parametrize("forged", ["ledger key", "stranger", "no newline"])
def test_stored_cosignatures_are_served_only_if_they_verify(
    tmp_path: Path, db_url: str, forged: str
) -> None:
    witness = CosignatureSigner("witness.example", new_private_key())
    with environment(tmp_path, db_url, witnesses=(witness.vkey,)) as env, env.client() as http:
        latest = env.server.checkpointer.latest()
        body = open_checkpoint(latest.note, env.server.signer.verifier()).to_text()
        genuine = witness.cosign(body, 7)
        _add_cosignature(env.server, latest.size, genuine)
        assert all(genuine in note for note in _served_notes(env.server, http))
        assert http.get("/healthz").status_code == 200

        origin = env.server.signer.name
        ledger_hash = bytes.fromhex(env.server.signer.vkey.split("+")[1])
        stranger = CosignatureSigner("stranger.example", new_private_key())
        line, name, key_hash = {
            "ledger key": (
                f"\u2014 {origin} {base64.b64encode(ledger_hash + os.urandom(72)).decode()}\n",
                origin,
                ledger_hash,
            ),
            "stranger": (
                stranger.cosign(body, 9),
                "stranger.example",
                bytes.fromhex(stranger.vkey.split("+")[1]),
            ),
            "no newline": (
                genuine.replace("witness.example", "witness.example2").removesuffix("\n"),
                "witness.example2",
                bytes(4),
            ),
        }[forged]
        _insert_cosignature(db_url, latest.size, name, key_hash, line)

        for note in _served_notes(env.server, http):
            assert genuine in note
            assert line.strip() not in note
        health_answer = http.get("/healthz")
        assert health_answer.status_code == 503, health_answer.text
        assert health_answer.json()["failedSeqs"] == [latest.size - 1]
        assert grpc_health(env.server) == health.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("where", ["inside", "newest"])
def test_a_record_deleted_from_the_signed_tree_is_an_alarm(
    tmp_path: Path, db_url: str, where: str
) -> None:
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        footprints = record_footprints(env, 3)
        gone = footprints[1] if where == "inside" else footprints[2]
        condition = "seq = :s" if where == "inside" else "seq >= :s"  # newest: the log's end
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text(f"DELETE FROM record WHERE {condition}"), {"s": gone.seq})
        assert_pact_refused(http.get(f"/v1/entries/{gone.seq}"), gone.seq)
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert_data_loss(lambda: client.get_entry(seq=gone.seq), gone.seq)
            assert_data_loss(lambda: list(client.stream_entries(0)), gone.seq)
            first = footprints[0].seq
            assert client.get_entry(seq=first).seq == first
        assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize(
    ("column", "storage"),
    [
        ("entry", "TEXT"),
        ("leaf_hash", "TEXT"),
        ("signature", "TEXT"),
        ("entry_type", "BLOB"),
        ("org_id", "BLOB"),
        ("entry_id", "BLOB"),
    ],
)
def test_a_record_column_of_another_storage_class_is_an_alarm(
    tmp_path: Path, column: str, storage: str
) -> None:
    """SQLite only: PostgreSQL's columns have one type. ``leaf_hash`` and ``signature``
    are not UTF-8, so reading them as TEXT failed the whole query (a 503, gRPC
    ``UNKNOWN``) before any check ran; a text column as BLOB failed joining the names
    (red team, 2026-12-06 night)."""
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        target = record_footprints(env, 2)[0]
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(
                text(f"UPDATE record SET {column} = CAST({column} AS {storage}) WHERE seq = :s"),
                {"s": target.seq},
            )
        assert_pact_refused(http.get(f"/v1/entries/{target.seq}"), target.seq)
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert_data_loss(lambda: client.get_entry(seq=target.seq), target.seq)
        assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize(
    "change", ["note = CAST(note AS BLOB)", "root_hash = CAST(root_hash AS TEXT)", "size = "]
)
def test_a_checkpoint_column_of_another_storage_class_is_an_alarm(
    tmp_path: Path, change: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        record_footprints(env, 1)
        size = env.server.store.tree_size()
        if change == "size = ":
            change = "size = CAST(CAST(size AS TEXT) AS BLOB)"
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text(f"UPDATE checkpoint SET {change} WHERE size = :s"), {"s": size})
        answer = http.get("/tlog/checkpoint")
        assert answer.status_code == 500, answer.text
        said = {"note": "does not verify", "root_hash": "root column differs from its note"}
        assert said.get(change.split()[0], "were deleted or replaced") in answer.text
        with LedgerClient(env.server.grpc_target) as client:
            with pytest.raises(grpc.RpcError) as failed:
                client.checkpoint()
            assert failed.value.code() == grpc.StatusCode.DATA_LOSS
        assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize("value", ["12345", "CAST(hash AS TEXT)"], ids=["integer", "text"])
def test_a_merkle_node_of_another_storage_class_is_an_alarm(tmp_path: Path, value: str) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        target = record_footprints(env, 2)[0]
        sibling = target.seq ^ 1  # the first node of its inclusion proof
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(
                text(f"UPDATE merkle_node SET hash = {value} WHERE level = 0 AND idx = :i"),
                {"i": sibling},
            )
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert_data_loss(lambda: client.get_entry(seq=target.seq), target.seq)
        assert_pact_refused(http.get(f"/v1/entries/{target.seq}"), target.seq)
        assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize("seq", ["CAST(:s - 1 AS BLOB)", "'9e999'", "CAST('9e999' AS REAL)"])
def test_a_newest_record_whose_seq_no_longer_counts_is_an_alarm_not_an_older_state(
    tmp_path: Path, seq: str
) -> None:
    """Red team, 2026-12-06 night (SQLite: a seq of another storage class). The newest
    record's seq set to a blob or text sorted above every number, so the log size read
    as that value plus one: a gateway built its engine over that older prefix and
    served its totals (a footprint recorded since was simply unknown), or every read
    failed on ``int(inf)``. Now such a record reads as missing up to the signed size:
    the engine cannot be built without it, and refuses with the alarm."""
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        footprints = record_footprints(env, 3)
        newest = footprints[-1]
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text(f"UPDATE record SET seq = {seq} WHERE seq = :s"), {"s": newest.seq})
        # An earlier footprint: the engine over the older prefix would answer it.
        answer = http.get(f"/v1/footprints/{footprints[0].id}/computed")
        assert_pact_refused(answer, newest.seq)
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert_data_loss(lambda: client.get_entry(seq=newest.seq), newest.seq)
        health = http.get("/healthz")
        assert health.status_code == 503 and newest.seq in health.json()["failedSeqs"]


def test_a_stored_line_that_does_not_parse_blocks_no_witness(tmp_path: Path, db_url: str) -> None:
    """Red team 3: one malformed row at a size made every witness's line for that size
    fail to be stored ("did not cosign", blamed on the witness)."""
    witness = CosignatureSigner("witness.example", new_private_key())
    with environment(tmp_path, db_url, witnesses=(witness.vkey,)) as env, env.client() as http:
        latest = env.server.checkpointer.latest()
        body = open_checkpoint(latest.note, env.server.signer.verifier()).to_text()
        _insert_cosignature(db_url, latest.size, "evil/w", bytes(4), "\u2014 evil/w AQID\n")
        genuine = witness.cosign(body, 7)
        _add_cosignature(env.server, latest.size, genuine)
        assert all(genuine in note for note in _served_notes(env.server, http))
