"""Attestations and retirements on a computed footprint come from the read model's
per-footprint indexes (``ledger.read.evidence``), through a real ledger and gateway on
SQLite and PostgreSQL: each footprint shows exactly its own, only at detail access, and a
new one shows up as soon as it is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gateway.computed
from tests import carbon_builders as cb
from tests.ledger_fixtures import BUYER, SUPPLIER, enroll
from tests.test_gateway_support import Env, environment, footprint_entry

VERIFIER = "urn:pact:company:customcode:certifier-e"
REGISTRY = "gec-cn"


def _footprint(env: Env, product: str) -> dict[str, Any]:
    entry = footprint_entry(SUPPLIER, product, unit="kilogram")
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "5"}],
        "inputs": [],
    }
    env.submit(SUPPLIER, entry)
    return entry


def _retire(env: Env, first: str, last: str, footprint_id: str) -> str:
    entry = cb.retirement(SUPPLIER, REGISTRY, first, last)
    entry["beneficiary"] = {"org": SUPPLIER, "footprintIds": [footprint_id]}
    env.submit(SUPPLIER, entry)
    return str(entry["entryId"])


def _evidence(env: Env, org: str, footprint_id: str) -> tuple[list[str], list[str]]:
    with env.client(org) as http:
        got = http.get(f"/v1/footprints/{footprint_id}/computed")
    assert got.status_code == 200, got.text
    body = got.json()
    return (
        [a["entryId"] for a in body["attestations"]],
        [r["entryId"] for r in body["retirements"]],
    )


def test_each_footprint_shows_its_own_attestations_and_retirements(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        env.orgs[VERIFIER] = enroll(env.ledger, env.operator, VERIFIER, "verifier")
        issued = (("GEC-2024-000001", "GEC-2024-000999"),)
        bind = cb.registry_account(env.operator.org, REGISTRY, SUPPLIER, serials=issued)
        env.ledger.submit(env.operator.sign(bind))
        cell = _footprint(env, "urn:pact:product:recycler-a:cell-e")
        tray = _footprint(env, "urn:pact:product:recycler-a:tray-e")
        cell_id, tray_id = cell["footprint"]["id"], tray["footprint"]["id"]
        assert _evidence(env, SUPPLIER, cell_id) == ([], [])

        env.grant(SUPPLIER, VERIFIER, "detail", footprintId=cell_id)
        attested = cb.attestation(VERIFIER, cell["entryId"])
        env.submit(VERIFIER, attested)
        first = _retire(env, "GEC-2024-000001", "GEC-2024-000010", cell_id)
        other = _retire(env, "GEC-2024-000011", "GEC-2024-000020", tray_id)
        second = _retire(env, "GEC-2024-000021", "GEC-2024-000030", cell_id)

        assert _evidence(env, SUPPLIER, cell_id) == ([attested["entryId"]], [first, second])
        assert _evidence(env, SUPPLIER, tray_id) == ([], [other])

        # Summary access shows the total, not who attested it or what was retired for it.
        env.grant(SUPPLIER, BUYER, "summary", footprintId=cell_id)
        assert _evidence(env, BUYER, cell_id) == ([], [])
        env.grant(SUPPLIER, BUYER, "detail", footprintId=cell_id)
        assert _evidence(env, BUYER, cell_id) == ([attested["entryId"]], [first, second])


def test_a_recomputed_footprint_keeps_its_evidence_until_new_evidence_names_it(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Superseding what a footprint cites recomputes its result, not its evidence (which
    rests on its own record and on what names it): the attestations are not read again
    until a new one is recorded, and then it shows at once."""
    asked: list[str] = []
    seqs = gateway.computed.attestation_seqs

    def counted(conn: Any, footprint_id: str, below: int) -> list[int]:
        asked.append(footprint_id)
        return seqs(conn, footprint_id, below)

    monkeypatch.setattr(gateway.computed, "attestation_seqs", counted)
    with environment(tmp_path, db_url) as env:
        env.orgs[VERIFIER] = enroll(env.ledger, env.operator, VERIFIER, "verifier")
        material = _footprint(env, "urn:pact:product:recycler-a:material-k")
        pack = footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:pack-k", unit="kilogram")
        pack["composition"]["inputs"] = [
            {
                "productId": "urn:pact:product:recycler-a:material-k",
                "companyId": SUPPLIER,
                "amount": "2",
                "unit": "kilogram",
            }
        ]
        env.submit(SUPPLIER, pack)
        pack_id = pack["footprint"]["id"]
        env.grant(SUPPLIER, VERIFIER, "detail", footprintId=pack_id)
        first = cb.attestation(VERIFIER, pack["entryId"])
        env.submit(VERIFIER, first)
        assert _evidence(env, SUPPLIER, pack_id) == ([first["entryId"]], [])
        assert asked == [pack_id]

        successor = footprint_entry(
            SUPPLIER,
            "urn:pact:product:recycler-a:material-k",
            unit="kilogram",
            preceding=[material["footprint"]["id"]],
        )
        env.submit(SUPPLIER, successor)
        with env.client(SUPPLIER) as http:
            body = http.get(f"/v1/footprints/{pack_id}/computed").json()
        assert body["attestations"][0]["entryId"] == first["entryId"]
        assert asked == [pack_id]  # recomputed, evidence kept

        second = cb.attestation(VERIFIER, pack["entryId"])
        env.submit(VERIFIER, second)
        assert _evidence(env, SUPPLIER, pack_id) == ([first["entryId"], second["entryId"]], [])
        assert asked == [pack_id, pack_id]
