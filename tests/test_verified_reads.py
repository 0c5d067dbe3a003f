"""Verified reads: an insider's edit of the store is refused where data is served.

Each test runs a real ledger and gateway (SQLite file and PostgreSQL), records a few
footprints, then changes stored rows with SQL the way someone with database access
could, without stopping anything. Every read path (gRPC ``GetEntry`` and
``StreamEntries``, PACT v3/v2 single reads and listings, ``/v1/entries``) must refuse
the affected record with no data, health must report failing integrity, untouched
records must still be served, and a fresh server over the tampered database must do
the same.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, create_engine, text

from clients.sdk import LedgerClient, OrgSigner
from ledger.merkle import NodeID, root_nodes
from ledger.record import Record, chain_hash, entry_hash
from ledger.server import LedgerServer
from ledger.store.log import record_at
from tests.ledger_fixtures import AUDITOR, SUPPLIER
from tests.test_gateway_support import Env, environment, gateway

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
DECLARED = b'"pcfExcludingBiogenicUptake":"71.4"'
ALTERED = b'"pcfExcludingBiogenicUptake":"95.0"'


@dataclass(frozen=True)
class Footprint:
    id: str
    seq: int
    entry_id: str


@contextmanager
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def record_footprints(env: Env, count: int) -> list[Footprint]:
    found = []
    for n in range(count):
        fid, receipt = env.footprint(SUPPLIER, f"{PRODUCT}-{n}")
        found.append(Footprint(fid, receipt.seq, receipt.entry_id))
    env.server.checkpointer.refresh()
    return found


def row(eng: Engine, seq: int) -> dict[str, Any]:
    with eng.connect() as conn:
        found = conn.execute(text("SELECT * FROM record WHERE seq = :s"), {"s": seq}).one()
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in found._mapping.items()}


def edit_declared_value(eng: Engine, seq: int, *, fix_hashes: bool) -> None:
    """The footprint's declared value 71.4 -> 95.0."""
    edit_entry(eng, seq, DECLARED, ALTERED, fix_hashes=fix_hashes)


def edit_entry(eng: Engine, seq: int, old: bytes, new: bytes, *, fix_hashes: bool) -> None:
    """``old`` -> ``new`` in the stored entry bytes at ``seq``; with ``fix_hashes``, the
    row's entry, leaf and chain hashes are recomputed too (a careful insider)."""
    stored = row(eng, seq)
    assert old in stored["entry"]
    entry = stored["entry"].replace(old, new)
    values: dict[str, Any] = {"e": entry, "s": seq}
    sql = "UPDATE record SET entry = :e"
    if fix_hashes:
        rec = Record(
            seq,
            stored["timestamp_us"],
            stored["prev_chain_hash"],
            entry_hash(entry),
            stored["key_id"],
            stored["signature"],
        )
        values |= {
            "h": rec.entry_hash,
            "l": rec.leaf_hash(),
            "c": chain_hash(rec.prev_chain_hash, rec.leaf_hash()),
        }
        sql += ", entry_hash = :h, leaf_hash = :l, chain_hash = :c"
    with eng.begin() as conn:
        conn.execute(text(sql + " WHERE seq = :s"), values)


def swap_entries(eng: Engine, a: int, b: int) -> None:
    first, second = row(eng, a)["entry"], row(eng, b)["entry"]
    with eng.begin() as conn:
        for seq, entry in ((a, second), (b, first)):
            conn.execute(
                text("UPDATE record SET entry = :e WHERE seq = :s"), {"e": entry, "s": seq}
            )


def flip_sibling_node(eng: Engine, seq: int, size: int) -> None:
    """Flip one bit of the stored leaf node next to ``seq``: the node its inclusion proof
    starts with (and that no root of the current tree is built from directly)."""
    sibling = NodeID(0, seq ^ 1)
    assert sibling not in root_nodes(size)
    with eng.begin() as conn:
        stored = bytes(
            conn.execute(
                text("SELECT hash FROM merkle_node WHERE level = 0 AND idx = :i"),
                {"i": sibling.index},
            ).scalar_one()
        )
        conn.execute(
            text("UPDATE merkle_node SET hash = :h WHERE level = 0 AND idx = :i"),
            {"h": bytes([stored[0] ^ 1]) + stored[1:], "i": sibling.index},
        )


def grpc_health(server: LedgerServer) -> int:
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        status: int = stub.Check(
            health_pb2.HealthCheckRequest(service="carbonledger.v1.Ledger")
        ).status
        return status


def assert_data_loss(call: Callable[[], object], seq: int) -> None:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    assert failed.value.code() == grpc.StatusCode.DATA_LOSS
    assert f"integrity check failed for record {seq}" in str(failed.value.details())


def assert_pact_refused(answer: httpx.Response, seq: int) -> None:
    assert answer.status_code == 500, answer.text
    body = answer.json()
    assert body["code"] == "InternalError"
    assert f"integrity check failed for record {seq}" in body["message"]
    assert set(body) == {"code", "message"}  # no data
    assert "95.0" not in answer.text and "71.4" not in answer.text


def assert_refused_everywhere(
    server: LedgerServer,
    http: httpx.Client,
    auditor: OrgSigner,
    bad: Footprint,
    good: Footprint,
    *,
    record_intact: bool = False,
) -> None:
    """Every read path refuses ``bad`` and still serves ``good``; health says failing.

    ``record_intact``: only a stored Merkle node was changed, not ``bad``'s record. A
    read proving ``bad`` with that node refuses it; a page that also holds the node's
    own leaf proves every record in it without the node (``ledger.merkle.leaf_set``)
    and serves them exactly as signed; from then on ``bad`` is proven, and single reads
    serve it as signed too. The alarm raised by the first refusal stays."""
    with LedgerClient(server.grpc_target, signer=auditor) as client:
        assert_data_loss(lambda: client.get_entry(seq=bad.seq), bad.seq)
        assert_data_loss(lambda: client.get_entry(entry_id=bad.entry_id), bad.seq)
        assert_data_loss(lambda: list(client.stream_entries(bad.seq, bad.seq + 1)), bad.seq)
        if record_intact:
            whole = {r.seq: r for r in client.stream_entries(0)}
            assert DECLARED in whole[bad.seq].entry and ALTERED not in whole[bad.seq].entry
            assert len(whole) == server.store.tree_size()
        else:
            assert_data_loss(lambda: list(client.stream_entries(0)), bad.seq)
        assert client.get_entry(seq=good.seq).seq == good.seq
        assert client.get_entry(entry_id=good.entry_id).seq == good.seq
        served = list(client.stream_entries(good.seq, good.seq + 1))
        assert [r.seq for r in served] == [good.seq]
    for version in (3, 2):
        single = http.get(f"/{version}/footprints/{bad.id}")
        if record_intact and single.status_code == 200:  # proven by the page above
            assert "71.4" in single.text and "95.0" not in single.text
        else:
            assert_pact_refused(single, bad.seq)
        listing = http.get(f"/{version}/footprints")
        if record_intact:
            assert listing.status_code == 200, listing.text
            assert bad.id in {f["id"] for f in listing.json()["data"]}
        else:
            assert_pact_refused(listing, bad.seq)
        answer = http.get(f"/{version}/footprints/{good.id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["id"] == good.id
    served = http.get(f"/v1/entries/{bad.seq}")
    if record_intact and served.status_code == 200:
        assert DECLARED in base64.b64decode(served.json()["entry"])
    else:
        assert_pact_refused(served, bad.seq)
    entry = http.get(f"/v1/entries/{good.seq}")
    assert entry.status_code == 200, entry.text
    assert DECLARED in base64.b64decode(entry.json()["entry"])
    assert grpc_health(server) == health_pb2.HealthCheckResponse.NOT_SERVING
    health = http.get("/healthz")
    assert health.status_code == 503
    assert bad.seq in health.json()["failedSeqs"]


Tampering = Callable[[Engine, list[Footprint], int], Footprint]


def edited(fix_hashes: bool) -> Tampering:
    def tamper(eng: Engine, footprints: list[Footprint], size: int) -> Footprint:
        edit_declared_value(eng, footprints[0].seq, fix_hashes=fix_hashes)
        return footprints[0]

    return tamper


def swapped(eng: Engine, footprints: list[Footprint], size: int) -> Footprint:
    swap_entries(eng, footprints[0].seq, footprints[1].seq)
    return footprints[0]


def node_flipped(eng: Engine, footprints: list[Footprint], size: int) -> Footprint:
    flip_sibling_node(eng, footprints[0].seq, size)
    return footprints[0]


def signature_extended(eng: Engine, footprints: list[Footprint], size: int) -> Footprint:
    """One byte appended to the stored signature: the leaf layout would cut it off again,
    so only a size check tells the served signature from the proven one."""
    seq = footprints[0].seq
    longer = row(eng, seq)["signature"] + b"\0"
    with eng.begin() as conn:
        conn.execute(
            text("UPDATE record SET signature = :g WHERE seq = :s"), {"g": longer, "s": seq}
        )
    return footprints[0]


TAMPERINGS = {
    "bytes-edited": edited(fix_hashes=False),
    "bytes-edited-hashes-fixed": edited(fix_hashes=True),
    "entries-swapped": swapped,
    "merkle-node-flipped": node_flipped,
    "signature-extended": signature_extended,
}


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_tampered_record_is_never_served(tmp_path: Path, db_url: str, kind: str) -> None:
    intact = kind == "merkle-node-flipped"
    with environment(tmp_path, db_url) as env:
        # Six records before the first footprint: the one tampered with sits inside
        # the tree, never on its right border.
        footprints = record_footprints(env, 4)
        size = env.server.store.tree_size()
        auditor_token = env.token(AUDITOR)
        with env.client(AUDITOR) as http:
            assert http.get("/healthz").status_code == 200
            assert grpc_health(env.server) == health_pb2.HealthCheckResponse.SERVING
            with engine(db_url) as eng:
                bad = TAMPERINGS[kind](eng, footprints, size)
            good = footprints[-1]
            assert_refused_everywhere(
                env.server, http, env.orgs[AUDITOR], bad, good, record_intact=intact
            )
        auditor = env.orgs[AUDITOR]

    # A fresh server process state over the tampered database refuses it the same way.
    with (
        gateway(tmp_path, db_url) as (server, http_server),
        httpx.Client(
            base_url=http_server.url, headers={"Authorization": f"Bearer {auditor_token}"}
        ) as http,
    ):
        assert_refused_everywhere(server, http, auditor, bad, good, record_intact=intact)


def test_bytes_edited_after_they_were_proven_are_refused(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A seq proven earlier in this process is not trusted blindly: its bytes are re-hashed
    on every read. Reading the bad seq again and again raises one alarm line."""
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        footprints = record_footprints(env, 4)
        target = footprints[0]
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert client.get_entry(seq=target.seq).seq == target.seq  # proven and cached
            with engine(db_url) as eng:
                edit_declared_value(eng, target.seq, fix_hashes=True)
            with caplog.at_level(logging.ERROR, logger="ledger.integrity"):
                for _ in range(3):
                    assert_data_loss(lambda: client.get_entry(seq=target.seq), target.seq)
                    assert_pact_refused(http.get(f"/v1/entries/{target.seq}"), target.seq)
        assert grpc_health(env.server) == health_pb2.HealthCheckResponse.NOT_SERVING
        alarms = [r.getMessage() for r in caplog.records if r.name == "ledger.integrity"]
        assert len(alarms) == 1, alarms
        assert f"record {target.seq}:" in alarms[0]


def test_a_served_proof_is_checked_against_the_signed_checkpoint(
    tmp_path: Path, db_url: str
) -> None:
    """A flipped Merkle node under a leaf this process already proved leaves the record's
    bytes intact (they are still served over gRPC), but the inclusion proof built from the
    node is checked before ``/v1/entries`` sends it, so it is refused."""
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as http:
        footprints = record_footprints(env, 4)
        target = footprints[0]
        assert http.get(f"/v1/entries/{target.seq}").status_code == 200
        with engine(db_url) as eng:
            flip_sibling_node(eng, target.seq, env.server.store.tree_size())
        with LedgerClient(env.server.grpc_target, signer=env.orgs[AUDITOR]) as client:
            assert client.get_entry(seq=target.seq).entry  # proven before: bytes re-hashed
        assert_pact_refused(http.get(f"/v1/entries/{target.seq}"), target.seq)
        assert http.get("/healthz").status_code == 503


def test_a_reader_whose_snapshot_predates_the_checkpoint_still_proves(
    tmp_path: Path, db_url: str
) -> None:
    """A connection whose snapshot began before the log grew cannot see the nodes of a
    checkpoint signed since (the gRPC fuzzer met this under load as a false DATA_LOSS
    and integrity alarm): the proof is read again in a transaction begun after it."""
    with environment(tmp_path, db_url) as env:
        first = record_footprints(env, 2)
        verified = env.server.verified
        with env.server.store.db.read() as stale:
            record = record_at(stale, first[0].seq)  # the snapshot begins here
            assert record is not None
            later = [env.footprint(SUPPLIER, f"{PRODUCT}-later-{n}")[1] for n in range(3)]
            env.server.checkpointer.refresh()
            newest = verified.record(later[-1].seq)  # caches the newer checkpoint
            assert newest is not None and newest.seq == later[-1].seq
            assert verified.verify(record, stale) is record
        assert not verified.monitor.failing
