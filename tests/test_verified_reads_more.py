"""Verified reads, continued: computed footprints, supplier progress and the public proof
endpoints refuse what an insider changed in the store.

As in ``tests/test_verified_reads.py``, a real ledger and gateway run over a SQLite file
and PostgreSQL, and rows are changed with SQL behind their back. The footprint engine
must take only verified entries (a factor edited in the store is never computed with),
progress must refuse an edited inventory, and a proof built from a flipped Merkle node
must be refused by ``/v1/proofs/*`` and gRPC ``GetInclusionProof``/``GetConsistencyProof``
instead of being served.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from grpc_health.v1 import health_pb2
from sqlalchemy import text

from clients.sdk import LedgerClient, new_entry
from gateway.engine_snapshot import SNAPSHOT_FILE
from gateway.server import HttpServer
from ledger.merkle import NodeID, consistency_nodes, inclusion_nodes
from ledger.server import LedgerServer
from tests import carbon_builders as cb
from tests.carbon_builders import default_factor_set, grid_electricity, inventory_grant
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import Env, environment, footprint_entry, gateway
from tests.test_verified_reads import (
    assert_data_loss,
    assert_pact_refused,
    edit_entry,
    engine,
    flip_sibling_node,
    grpc_health,
    record_footprints,
    row,
)

PRODUCT = "urn:pact:product:recycler-a:lfp-module"
GRID_FACTOR = b'"value":"0.5366"'
GRID_FACTOR_ALTERED = b'"value":"0.0366"'


@contextmanager
def restarted(
    tmp_path: Path, db_url: str, token: str
) -> Iterator[tuple[LedgerServer, HttpServer, httpx.Client]]:
    """A fresh ledger and gateway process over the same store, and a client with
    ``token``."""
    with (
        gateway(tmp_path, db_url) as (server, http_server),
        httpx.Client(
            base_url=http_server.url, headers={"Authorization": f"Bearer {token}"}
        ) as http,
    ):
        yield server, http_server, http


def publish_factors_and_footprint(env: Env) -> tuple[int, str]:
    """The default factor set (its seq) and a footprint computed from 1000 kWh of grid
    electricity with it (its id)."""
    factors = env.ledger.submit(env.operator.sign(default_factor_set(env.operator.org)))
    entry = footprint_entry(SUPPLIER, PRODUCT, unit="kilogram")
    entry["composition"] = {"ownEmissions": [], "inputs": [grid_electricity("1000")]}
    env.submit(SUPPLIER, entry)
    env.server.checkpointer.refresh()
    return int(factors.seq), str(entry["footprint"]["id"])


def computed_then_factor_edited(
    tmp_path: Path, db_url: str, fix_hashes: bool
) -> tuple[int, str, str, dict[str, Any]]:
    """A footprint computed (536.6 kgCO2e) by a running gateway, which saves its engine
    snapshot, then the factor it uses edited in the store with the servers stopped: the
    factor set's seq, the footprint's id, the supplier's token and the honest answer."""
    with environment(tmp_path, db_url) as env:
        factor_seq, fid = publish_factors_and_footprint(env)
        supplier_token = env.token(SUPPLIER)
        with env.client(SUPPLIER) as http:
            honest = http.get(f"/v1/footprints/{fid}/computed")
            assert honest.status_code == 200, honest.text
            assert float(honest.json()["total"]) == pytest.approx(536.6)
        with engine(db_url) as eng:
            edit_entry(eng, factor_seq, GRID_FACTOR, GRID_FACTOR_ALTERED, fix_hashes=fix_hashes)
    return factor_seq, fid, supplier_token, dict(honest.json())


@pytest.mark.parametrize("fix_hashes", [False, True], ids=["bytes", "bytes-and-hashes"])
def test_an_edited_factor_is_never_computed_with(
    tmp_path: Path, db_url: str, fix_hashes: bool
) -> None:
    factor_seq, fid, supplier_token, _ = computed_then_factor_edited(tmp_path, db_url, fix_hashes)
    (tmp_path / SNAPSHOT_FILE).unlink()  # the engine's snapshot: see the test below

    # A fresh process builds its engine from the tampered store: it must refuse to.
    with restarted(tmp_path, db_url, supplier_token) as (server, _, http):
        for path in (
            f"/v1/footprints/{fid}/computed",
            f"/v1/footprints/{fid}/contributions",
            f"/v1/products/{PRODUCT}/footprint?companyId={SUPPLIER}",
        ):
            assert_pact_refused(http.get(path), factor_seq)  # no total, no tree
        footprint = http.get(f"/3/footprints/{fid}")  # untouched: still served
        assert footprint.status_code == 200, footprint.text
        assert grpc_health(server) == health_pb2.HealthCheckResponse.NOT_SERVING
        health = http.get("/healthz")
        assert health.status_code == 503 and factor_seq in health.json()["failedSeqs"]


def test_an_edited_factor_is_not_computed_with_after_a_restart_from_the_snapshot(
    tmp_path: Path, db_url: str
) -> None:
    """A gateway that starts from its engine snapshot (``gateway.engine_snapshot``) does
    not read the records before the snapshot's tree size again: it computes with the
    factor as it was verified when the snapshot was saved, never with the edited one
    (finding the edit is left to the reads of the record itself, ``fsck`` and audits)."""
    _, fid, supplier_token, honest = computed_then_factor_edited(tmp_path, db_url, True)
    with restarted(tmp_path, db_url, supplier_token) as (_, http_server, http):
        again = http.get(f"/v1/footprints/{fid}/computed")
        assert http_server.app.state.services.computed.restored_from is not None
    assert again.status_code == 200, again.text
    assert again.json()["total"] == honest["total"]
    assert float(again.json()["total"]) == pytest.approx(536.6)


@pytest.mark.parametrize("change", ["retyped", "deleted"])
def test_a_record_retyped_or_deleted_is_not_skipped_by_the_engine(
    tmp_path: Path, db_url: str, change: str
) -> None:
    """Red team, 2026-12-06 night: the engine read its entries with a filter on the
    ``entry_type`` column, so a factor set retyped (or deleted) in the store was simply
    never read: the footprint computed without it, 200 with a smaller total, health
    green. Every record of the range is now read and verified, then filtered."""
    with environment(tmp_path, db_url) as env:
        factor_seq, fid = publish_factors_and_footprint(env)
        supplier_token = env.token(SUPPLIER)
        with engine(db_url) as eng, eng.begin() as conn:
            if change == "retyped":
                statement = "UPDATE record SET entry_type = 'inventory' WHERE seq = :s"
            else:
                statement = "DELETE FROM record WHERE seq = :s"
            conn.execute(text(statement), {"s": factor_seq})

    with restarted(tmp_path, db_url, supplier_token) as (server, _, http):
        answer = http.get(f"/v1/footprints/{fid}/computed")
        assert_pact_refused(answer, factor_seq)
        assert "total" not in answer.text
        assert grpc_health(server) == health_pb2.HealthCheckResponse.NOT_SERVING
        health = http.get("/healthz")
        assert health.status_code == 503 and factor_seq in health.json()["failedSeqs"]


def test_an_edited_entry_is_never_taken_by_an_engine_update(tmp_path: Path, db_url: str) -> None:
    """The engine built, a new footprint recorded and edited in the store: the update
    that would take it is refused; once the row is put back, the engine is up to date."""
    with environment(tmp_path, db_url) as env, env.client(SUPPLIER) as http:
        _, first = publish_factors_and_footprint(env)
        assert http.get(f"/v1/footprints/{first}/computed").status_code == 200  # built
        entry = footprint_entry(SUPPLIER, f"{PRODUCT}-2", unit="kilogram")
        entry["composition"] = {"ownEmissions": [], "inputs": [grid_electricity("2000")]}
        seq = env.submit(SUPPLIER, entry).seq
        second = entry["footprint"]["id"]
        env.server.checkpointer.refresh()
        with engine(db_url) as eng:
            genuine = row(eng, seq)["entry"]
            edit_entry(eng, seq, b'"amount":"2000"', b'"amount":"20"', fix_hashes=True)
            for fid in (second, first):
                assert_pact_refused(http.get(f"/v1/footprints/{fid}/computed"), seq)
            edit_entry(eng, seq, b'"amount":"20"', b'"amount":"2000"', fix_hashes=True)
            assert row(eng, seq)["entry"] == genuine
        for fid, total in ((second, 1073.2), (first, 536.6)):
            answer = http.get(f"/v1/footprints/{fid}/computed")
            assert answer.status_code == 200, answer.text
            assert float(answer.json()["total"]) == pytest.approx(total)


def test_an_edited_inventory_is_refused_by_progress(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        target = cb.target(BUYER, SUPPLIER)
        target_seq = env.submit(BUYER, target).seq
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER))
        inventory = new_entry(
            "inventory",
            SUPPLIER,
            reportingYear=2024,
            scope1TCO2e="600",
            scope2TCO2e="250",
            electricityMWh="100",
            renewableElectricityMWh="20",
        )
        inventory_seq = env.submit(SUPPLIER, inventory).seq
        env.server.checkpointer.refresh()
        with engine(db_url) as eng:
            edit_entry(
                eng, inventory_seq, b'"scope1TCO2e":"600"', b'"scope1TCO2e":"100"', fix_hashes=True
            )
        with env.client(BUYER) as buyer, env.client(AUDITOR) as auditor:
            answer = buyer.get(f"/v1/suppliers/{SUPPLIER}/progress")
            assert_pact_refused(answer, inventory_seq)
            assert "600" not in answer.text and "100" not in answer.text
            kept = auditor.get(f"/v1/entries/{target_seq}")  # untouched: still served
            assert kept.status_code == 200, kept.text
            health = auditor.get("/healthz")
            assert health.status_code == 503 and inventory_seq in health.json()["failedSeqs"]


def test_proofs_from_a_flipped_node_are_refused(tmp_path: Path, db_url: str) -> None:
    """The leaf at ``target`` was proven before its neighbour's stored node is flipped:
    every proof built from that node is refused; the others are still served."""
    with environment(tmp_path, db_url) as env, env.client() as public:
        target = record_footprints(env, 4)[0].seq
        size = env.server.store.tree_size()
        leaf_hash = next(env.server.store.records(target, target + 1)).leaf_hash.hex()
        proof_url = f"/v1/proofs/inclusion?leafHash={leaf_hash}&treeSize={size}"
        assert public.get(proof_url).status_code == 200
        with engine(db_url) as eng:
            flip_sibling_node(eng, target, size)
        flipped = NodeID(0, target ^ 1)
        first = next(n for n in range(1, size) if flipped in consistency_nodes(n, size).ids)
        untouched = next(
            n for n in range(size - 1, 0, -1) if flipped not in inclusion_nodes(n, size).ids
        )
        assert_pact_refused(public.get(proof_url), target)
        consistency_url = f"/v1/proofs/consistency?first={first}&second={size}"
        assert_pact_refused(public.get(consistency_url), size - 1)
        with LedgerClient(env.server.grpc_target) as client:
            assert_data_loss(lambda: client.inclusion_proof(target, size), target)
            assert_data_loss(lambda: client.consistency_proof(first, size), size - 1)
            assert client.inclusion_proof(untouched, size)
            assert client.consistency_proof(size, size) == []
        same = public.get(f"/v1/proofs/consistency?first={size}&second={size}")
        assert same.status_code == 200 and same.json()["proof"] == []
        assert grpc_health(env.server) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert public.get("/healthz").status_code == 503
