"""Appending and proving touch O(log n) rows, never the whole log."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from ledger.checkpointer import Checkpointer, InconsistentCheckpointError
from ledger.keys import new_private_key
from ledger.merkle import MerkleTree, verify_inclusion
from ledger.note import NoteSigner
from ledger.record import Record, entry_hash
from ledger.store.database import Database, sqlite_url
from ledger.store.log import LogStore, LogWriter, NodeReader, StoredRecord


def _append(db: Database, start: int, stop: int) -> list[bytes]:
    """Append synthetic records start..stop-1 directly through the writer."""
    leaves = []
    with db.write() as conn:
        writer = LogWriter(conn)
        for seq in range(start, stop):
            body = f"entry {seq}".encode()
            record = Record(
                seq, seq, writer.last_chain_hash, entry_hash(body), bytes(32), bytes(64)
            )
            writer.append(
                StoredRecord(
                    seq,
                    seq,
                    f"id-{seq}",
                    "test",
                    "urn:x:y",
                    bytes(32),
                    bytes(64),
                    writer.last_chain_hash,
                    body,
                    entry_hash(body),
                    record.leaf_hash(),
                    record.chain_hash(),
                )
            )
            leaves.append(record.leaf_hash())
        writer.flush()
    return leaves


def _count_node_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of Merkle nodes each ``NodeReader.get`` asks for."""
    looked_up: list[int] = []
    original = NodeReader.get

    def counting_get(self: NodeReader, ids: Any) -> list[bytes]:
        looked_up.append(len(ids))
        return original(self, ids)

    monkeypatch.setattr(NodeReader, "get", counting_get)
    return looked_up


def test_proofs_and_head_cost_log_n_node_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(sqlite_url(tmp_path))
    leaves = _append(db, 0, 1500)
    store = LogStore(db)
    tree = MerkleTree(leaves)
    looked_up = _count_node_reads(monkeypatch)
    for size in (1, 2, 777, 1024, 1500):
        for index in (0, size // 2, size - 1):
            proof = store.inclusion_proof(index, size)
            assert proof == tree.inclusion_proof(index, size)
            verify_inclusion(leaves[index], index, size, proof, tree.root(size))
        assert store.root(size) == tree.root(size)
    with db.write() as conn:
        writer = LogWriter(conn)  # resuming the head reads popcount(size) nodes
        assert writer.compact.root() == tree.root()
    bound = 2 * math.ceil(math.log2(1500)) + 2
    assert looked_up and max(looked_up) <= bound, looked_up


def test_checkpointer_refuses_to_sign_a_forked_history(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    _append(db, 0, 10)
    store = LogStore(db)
    checkpointer = Checkpointer(store, NoteSigner("example.org/log", new_private_key()))
    assert checkpointer.latest().size == 10
    with db.write() as conn:  # an insider rewrites a stored node behind the ledger's back
        conn.exec_driver_sql(
            "UPDATE merkle_node SET hash = zeroblob(32) WHERE level = 3 AND idx = 0"
        )
    _append(db, 10, 12)
    with pytest.raises(InconsistentCheckpointError, match="not consistent with checkpoint 10"):
        checkpointer.refresh()
    assert store.latest_checkpoint() is not None
    assert store.latest_checkpoint().size == 10  # type: ignore[union-attr]


def test_a_writer_resumes_from_the_head_it_left_while_the_log_keeps_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(sqlite_url(tmp_path))
    _append(db, 0, 37)
    with db.write() as conn:
        left = LogWriter(conn).head()
    looked_up = _count_node_reads(monkeypatch)
    with db.write() as conn:
        resumed = LogWriter(conn, left)
        assert not looked_up  # nothing read back but the size
        assert resumed.head() == left == LogWriter(conn).head()
    looked_up.clear()
    _append(db, 37, 40)  # another writer appended: the head left at 37 is stale
    with db.write() as conn:
        writer = LogWriter(conn, left)
        assert looked_up  # read from the tables instead
        assert writer.size == 40 and writer.head() == LogWriter(conn).head() != left
