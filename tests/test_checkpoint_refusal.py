"""A tree the checkpointer refuses to sign raises the integrity alarm, whoever asked.

An insider who rewrites a stored Merkle node that the next tree head is built from
makes that head inconsistent with the last signed checkpoint. The server's periodic
refresh is the first to find out: it must report it (health "not serving", the
gateway's ``/healthz`` 503), sign nothing past the checkpoint, and keep refreshing (it
used to die on the exception, leaving health green and the log unsigned for good).

The checkpoint it extends is the one its note signs, not what a row's columns say
(red team, 2026-12-06: rewriting ``checkpoint.root_hash`` to a forged tree's root got
that tree signed and served), nor one older than, or different from, a checkpoint the
process already trusted (deleting the newest checkpoint row and record got a second,
different checkpoint signed at a size already signed).
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from grpc_health.v1 import health_pb2
from sqlalchemy import text

from clients.sdk import LedgerClient
from ledger.errors import IntegrityError
from ledger.merkle import NodeID, root_nodes
from ledger.server import LedgerServer
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.test_gateway_support import gateway
from tests.test_verified_reads import assert_data_loss, engine, grpc_health

Alarms = tuple[list[IntegrityError], threading.Event]

ALARM_TIMEOUT = 30.0


def _flip_node(db_url: str, node: NodeID) -> bytes:
    """Flip one bit of the stored ``node``; its genuine hash, to put back."""
    where = {"l": node.level, "i": node.index}
    with engine(db_url) as eng, eng.begin() as conn:
        stored = bytes(
            conn.execute(
                text("SELECT hash FROM merkle_node WHERE level = :l AND idx = :i"), where
            ).scalar_one()
        )
        _store_node(conn, node, bytes([stored[0] ^ 1]) + stored[1:])
    return stored


def _store_node(conn: object, node: NodeID, digest: bytes) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text("UPDATE merkle_node SET hash = :h WHERE level = :l AND idx = :i"),
        {"h": digest, "l": node.level, "i": node.index},
    )


def _listen(server: LedgerServer) -> Alarms:
    alarms: list[IntegrityError] = []
    alarmed = threading.Event()
    server.verified.monitor.on_failure(lambda error: (alarms.append(error), alarmed.set()))
    return alarms, alarmed


def _grow_past_a_merge(server: LedgerServer, ledger: LedgerClient) -> int:
    """Grow the log until its largest subtree survives one more append, so the next head
    is built from a node stored now (a power of two would merge it away); its size,
    signed."""
    operator = operator_of(server)
    while root_nodes(size := server.store.tree_size())[0] not in root_nodes(size + 1):
        enroll(ledger, operator, f"urn:example:org-{size}", "buyer")
    assert server.checkpointer.latest().size == size
    return size


def _signed_size(server: LedgerServer) -> int:
    latest = server.store.latest_checkpoint()
    assert latest is not None
    return latest.size


def _refresher_signs(
    server: LedgerServer, monkeypatch: pytest.MonkeyPatch, size: int
) -> threading.Event:
    """An event set once the server's periodic refresh (its "checkpointer" thread) has
    signed, or found signed, a checkpoint of at least ``size``."""
    signed = threading.Event()
    refresh = server.checkpointer.refresh

    def watched() -> object:
        row = refresh()
        if threading.current_thread().name == "checkpointer" and row.size >= size:  # type: ignore[attr-defined]
            signed.set()
        return row

    monkeypatch.setattr(server.checkpointer, "refresh", watched)
    return signed


def test_the_refresh_alarms_on_a_tree_it_refuses_and_keeps_refreshing(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        running_server(tmp_path, db_url) as server,
        gateway(tmp_path, db_url, server=server) as (_, http_server),
        LedgerClient(server.grpc_target) as ledger,
    ):
        auditor = enroll(ledger, operator_of(server), "urn:example:auditor", "auditor")
        size = _grow_past_a_merge(server, ledger)
        alarms, alarmed = _listen(server)

        flipped = root_nodes(size)[0]
        genuine = _flip_node(db_url, flipped)
        enroll(ledger, operator_of(server), "urn:example:late", "buyer")  # record ``size``

        # Nobody reads: the periodic refresh finds it and raises the alarm.
        assert alarmed.wait(ALARM_TIMEOUT), "the refresh signed or died without an alarm"
        assert [a.seq for a in alarms] == [size]
        assert f"not consistent with checkpoint {size}" in alarms[0].reason
        assert _signed_size(server) == size
        assert grpc_health(server) == health_pb2.HealthCheckResponse.NOT_SERVING
        health = httpx.get(f"{http_server.url}/healthz", timeout=30)
        assert health.status_code == 503, health.text
        assert health.json()["failedSeqs"] == [size]
        with LedgerClient(server.grpc_target, signer=auditor) as client:
            assert_data_loss(lambda: client.get_entry(seq=size), size)
            assert client.get_entry(seq=size - 1).seq == size - 1  # still signed for
            assert_data_loss(client.checkpoint, size)  # not UNKNOWN with a traceback

        # The refresh is still alive: once the node is put back it signs the new head.
        signed = _refresher_signs(server, monkeypatch, size + 1)
        with engine(db_url) as eng, eng.begin() as conn:
            _store_node(conn, flipped, genuine)
        assert signed.wait(ALARM_TIMEOUT), "the refresh did not sign the repaired head"
        assert _signed_size(server) == size + 1


def test_a_root_column_rewritten_to_a_forged_tree_is_not_signed_over(
    tmp_path: Path, db_url: str
) -> None:
    """The insider rewrites a stored node and sets the newest checkpoint row's
    ``root_hash`` to the root the stored nodes now give: consistent with the column, the
    forged tree is not consistent with the note the ledger's key signed."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as ledger:
        size = _grow_past_a_merge(server, ledger)
        alarms, alarmed = _listen(server)
        _flip_node(db_url, root_nodes(size)[0])
        forged_root = server.store.root(size)
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(
                text("UPDATE checkpoint SET root_hash = :r WHERE size = :s"),
                {"r": forged_root, "s": size},
            )
        enroll(ledger, operator_of(server), "urn:example:late", "buyer")

        assert alarmed.wait(ALARM_TIMEOUT), "a checkpoint was signed over the forged tree"
        assert "root column differs from its note" in alarms[0].reason
        assert _signed_size(server) == size


def test_deleted_checkpoints_do_not_get_a_second_root_signed_at_a_signed_size(
    tmp_path: Path, db_url: str
) -> None:
    """The insider deletes the newest checkpoint row and the record it ends with (and its
    leaf's nodes); the next entry takes that seq. The process signed that size before, so
    it refuses to sign another root there: a fork signed with the ledger's own key."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as ledger:
        size = _grow_past_a_merge(server, ledger)
        first = server.store.latest_checkpoint()
        alarms, alarmed = _listen(server)
        last = size - 1
        # the nodes holding the last leaf: those whose whole span the tree has
        covering = [(n, last >> n) for n in range(64) if ((last >> n) + 1) << n <= size]
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text("DELETE FROM checkpoint WHERE size = :s"), {"s": size})
            conn.execute(text("DELETE FROM record WHERE seq = :s"), {"s": last})
            for level, index in covering:
                conn.execute(
                    text("DELETE FROM merkle_node WHERE level = :l AND idx = :i"),
                    {"l": level, "i": index},
                )

        assert alarmed.wait(ALARM_TIMEOUT), "no alarm for the deleted checkpoint"
        assert f"this process trusted checkpoint {size}" in alarms[0].reason
        enroll(ledger, operator_of(server), "urn:example:fork", "buyer")  # takes seq ``last``
        assert server.store.tree_size() == size
        with pytest.raises(IntegrityError, match=f"trusted checkpoint {size}"):
            server.checkpointer.latest()
        signed = server.store.latest_checkpoint()
        assert first is not None and signed is not None and signed.size < size


def test_a_checkpoint_row_that_does_not_verify_is_named_so(tmp_path: Path, db_url: str) -> None:
    """An unsigned row is not believed by its size column: the alarm says it does not
    verify (it used to say the log was shorter than a checkpoint "signed" at that size)."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as ledger:
        size = _grow_past_a_merge(server, ledger)
        alarms, alarmed = _listen(server)
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(
                text("INSERT INTO checkpoint VALUES (:s, :r, 'garbage', 0)"),
                {"s": size + 100, "r": bytes(32)},
            )
        assert alarmed.wait(ALARM_TIMEOUT)
        assert "does not verify" in alarms[0].reason, alarms[0].reason
        with LedgerClient(server.grpc_target) as client:
            assert_data_loss(client.checkpoint, alarms[0].seq)


def test_a_database_error_does_not_end_the_refresh(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that fails once (a dropped connection, say) is signed at the next interval."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as ledger:
        failures: list[int] = []
        sign = server.checkpointer.refresh

        def failing_once() -> object:
            if not failures and threading.current_thread().name == "checkpointer":
                failures.append(1)
                raise ConnectionError("the database went away")
            return sign()

        monkeypatch.setattr(server.checkpointer, "refresh", failing_once)
        size = server.store.tree_size()
        signed = _refresher_signs(server, monkeypatch, size + 1)
        enroll(ledger, operator_of(server), "urn:example:buyer", "buyer")
        assert signed.wait(ALARM_TIMEOUT), "the refresh gave up after the failure"
        assert failures == [1]
        assert not server.verified.monitor.failing


def test_readers_racing_signers_raise_no_alarm(tmp_path: Path, db_url: str) -> None:
    """A reader whose snapshot began before another thread signed sees an older newest
    checkpoint than the process trusts: that is not a deleted row, and no alarm."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as ledger:
        operator = operator_of(server)
        done = threading.Event()
        errors: list[BaseException] = []

        def read() -> None:
            while not done.is_set():
                try:
                    server.checkpointer.latest()
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    return

        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        try:
            for n in range(40):
                enroll(ledger, operator, f"urn:example:racer-{n}", "buyer")
                server.checkpointer.refresh()
        finally:
            done.set()
            for reader in readers:
                reader.join()
        assert errors == []
        assert not server.verified.monitor.failing
        assert _signed_size(server) == server.store.tree_size()
