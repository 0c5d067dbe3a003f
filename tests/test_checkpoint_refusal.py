"""A tree the checkpointer refuses to sign raises the integrity alarm, whoever asked.

An insider who rewrites a stored Merkle node that the next tree head is built from
makes that head inconsistent with the last signed checkpoint. The server's periodic
refresh is the first to find out: it must report it (health "not serving", the
gateway's ``/healthz`` 503), sign nothing past the checkpoint, and keep refreshing (it
used to die on the exception, leaving health green and the log unsigned for good).
"""

from __future__ import annotations

import threading
import time
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


def _signed_size(server: LedgerServer) -> int:
    latest = server.store.latest_checkpoint()
    assert latest is not None
    return latest.size


def _wait_for_signed_size(server: LedgerServer, size: int) -> None:
    deadline = time.monotonic() + ALARM_TIMEOUT
    while _signed_size(server) < size:
        assert time.monotonic() < deadline, f"no checkpoint of size {size} was signed"
        time.sleep(0.02)


def test_the_refresh_alarms_on_a_tree_it_refuses_and_keeps_refreshing(
    tmp_path: Path, db_url: str
) -> None:
    with (
        running_server(tmp_path, db_url) as server,
        gateway(tmp_path, db_url, server=server) as (_, http_server),
        LedgerClient(server.grpc_target) as ledger,
    ):
        operator = operator_of(server)
        auditor = enroll(ledger, operator, "urn:example:auditor", "auditor")
        # Grow the log until its largest subtree survives one more append, so the next
        # head is built from a node stored now (a power of two would merge it away).
        while root_nodes(size := server.store.tree_size())[0] not in root_nodes(size + 1):
            enroll(ledger, operator, f"urn:example:org-{size}", "buyer")
        assert server.checkpointer.latest().size == size
        alarms: list[IntegrityError] = []
        alarmed = threading.Event()
        server.verified.monitor.on_failure(lambda error: (alarms.append(error), alarmed.set()))

        flipped = root_nodes(size)[0]
        genuine = _flip_node(db_url, flipped)
        enroll(ledger, operator, "urn:example:late", "buyer")  # record ``size``

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

        # The refresh is still alive: once the node is put back it signs the new head.
        with engine(db_url) as eng, eng.begin() as conn:
            _store_node(conn, flipped, genuine)
        _wait_for_signed_size(server, size + 1)


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
        enroll(ledger, operator_of(server), "urn:example:buyer", "buyer")
        _wait_for_signed_size(server, size + 1)
        assert failures == [1]
        assert not server.verified.monitor.failing
