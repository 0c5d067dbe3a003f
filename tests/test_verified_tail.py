"""Records newer than the last signed checkpoint (``ledger.read.proven_head``): proven
against the tree at the log's size once a consistency proof ties it to the signed
checkpoint, without signing one on the read path; a rewritten tree is refused. Through
a real ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, func, select, text

from clients.sdk import LedgerClient, OrgSigner
from ledger.merkle import MerkleTree, NodeID
from ledger.server import LedgerServer
from ledger.store.tables import CheckpointRow
from tests import carbon_builders as cb
from tests.ledger_fixtures import AUDITOR, SUPPLIER, enroll, operator_of, running_server
from tests.test_audit_tamper import rewrite_from, rows

PRODUCT = "urn:pact:product:recycler-a:tail"


def _checkpoints(server: LedgerServer) -> int:
    table = CheckpointRow.__table__  # type: ignore[attr-defined]
    with server.store.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _footprints(client: LedgerClient, supplier: OrgSigner, count: int, tag: str) -> list[int]:
    return [
        client.submit(supplier.sign(cb.footprint_entry(SUPPLIER, f"{PRODUCT}-{tag}-{n}"))).seq
        for n in range(count)
    ]


def _rebuild_merkle_nodes(db_url: str) -> None:
    """A careful insider: every stored Merkle node recomputed from the stored leaf hashes,
    so the tree at the log's size is whole and self-consistent again."""
    engine = create_engine(db_url)
    try:
        leaves = [bytes(r["leaf_hash"]) for r in rows(engine)]
        tree = MerkleTree(leaves)
        with engine.begin() as conn:
            stored = conn.execute(text("SELECT level, idx FROM merkle_node")).all()
            for level, idx in stored:
                conn.execute(
                    text("UPDATE merkle_node SET hash = :h WHERE level = :l AND idx = :i"),
                    {"h": tree.node(NodeID(level, idx)), "l": level, "i": idx},
                )
    finally:
        engine.dispose()


@contextmanager
def quiet_ledger(
    tmp_path: Path, db_url: str
) -> Iterator[tuple[LedgerServer, LedgerClient, OrgSigner, OrgSigner]]:
    """A ledger whose own checkpointer stays out of the way (an hour's interval), a client,
    and the signers of an enrolled supplier and auditor."""
    with (
        running_server(tmp_path, db_url, checkpoint_interval=3600) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        supplier = enroll(client, operator, SUPPLIER, "supplier")
        yield server, client, supplier, enroll(client, operator, AUDITOR, "auditor")


def test_a_record_past_the_signed_checkpoint_is_read_without_signing_one(
    tmp_path: Path, db_url: str
) -> None:
    """Signing is a write transaction: forced by every read of a new record, it held up
    computed footprints under appends (one per append, on the request path)."""
    with quiet_ledger(tmp_path, db_url) as (server, client, supplier, auditor):
        server.checkpointer.refresh()
        signed = _checkpoints(server)
        seqs = _footprints(client, supplier, 3, "new")
        with LedgerClient(server.grpc_target, signer=auditor) as reader:
            for seq in seqs:
                assert reader.get_entry(seq=seq).seq == seq
        assert _checkpoints(server) == signed
        assert not server.verified.monitor.failing


def test_a_rewritten_tree_under_new_records_is_refused(tmp_path: Path, db_url: str) -> None:
    """An insider edits a signed record and recomputes every hash and Merkle node after
    it: the tree at the log's size is whole, but no longer extends the signed checkpoint,
    so the records past it are not served either."""
    with quiet_ledger(tmp_path, db_url) as (server, client, supplier, auditor):
        signed_seqs = _footprints(client, supplier, 3, "signed")
        server.checkpointer.refresh()
        tail = _footprints(client, supplier, 3, "tail")
        engine = create_engine(db_url)
        try:
            target = rows(engine)[signed_seqs[0]]
            entry = bytes(target["entry"]).replace(b'"kgCO2e":"0.9"', b'"kgCO2e":"0.1"', 1)
            assert entry != bytes(target["entry"])
            rewrite_from(engine, signed_seqs[0], entry, bytes(target["signature"]))
        finally:
            engine.dispose()
        _rebuild_merkle_nodes(db_url)
        with (
            LedgerClient(server.grpc_target, signer=auditor) as reader,
            pytest.raises(grpc.RpcError) as failed,
        ):
            reader.get_entry(seq=tail[-1])
        assert failed.value.code() == grpc.StatusCode.DATA_LOSS
        assert "not consistent with the signed checkpoint" in str(failed.value.details())
        assert server.verified.monitor.failing
