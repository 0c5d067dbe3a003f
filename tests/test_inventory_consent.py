"""A supplier's inventories are read only with its consent (issue 13, finding 4).

Through a real ledger and gateway (SQLite and PostgreSQL): a buyer that records a
``target`` naming a supplier gets, at ``/v1/suppliers/{org}/progress``, exactly the
answer for an org that does not exist, until the supplier grants it its inventories
(``grant`` with ``inventory: true``); expired, not yet valid and revoked grants hide
them again, and a grant to one buyer opens nothing to another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from clients.sdk import new_entry
from tests.carbon_builders import inventory_grant, target
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, SUPPLIER_B, Env, environment

NOBODY = "urn:pact:company:customcode:nobody"


def _inventory(year: int) -> dict[str, Any]:
    return new_entry(
        "inventory",
        SUPPLIER,
        reportingYear=year,
        scope1TCO2e="600",
        scope2TCO2e="250",
        electricityMWh="100",
        renewableElectricityMWh="20",
        productionAmount="1000",
        productionUnit="t product",
    )


def _progress(client: httpx.Client, org: str) -> tuple[int, Any]:
    answer = client.get(f"/v1/suppliers/{org}/progress")
    return answer.status_code, answer.json()


def _hidden(client: httpx.Client) -> None:
    """The supplier's progress reads exactly like that of an org that does not exist
    (the path is the caller's own, so the body names no one else)."""
    hidden, missing = _progress(client, SUPPLIER), _progress(client, NOBODY)
    assert hidden[0] == 404, hidden
    assert hidden == missing
    assert "600" not in str(hidden[1]) and SUPPLIER not in str(hidden[1])


def _setup(env: Env) -> str:
    goal = target(BUYER, SUPPLIER)
    env.submit(BUYER, goal)
    env.submit(SUPPLIER, _inventory(2024))
    return str(goal["entryId"])


def test_a_target_alone_opens_no_inventory(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        target_id = _setup(env)
        with env.client(BUYER) as buyer, env.client(OTHER_BUYER) as other:
            _hidden(buyer)
            # Nor does an enrolled supplier with no target read differently.
            assert _progress(buyer, SUPPLIER_B) == _progress(buyer, NOBODY)

            grant = inventory_grant(SUPPLIER, BUYER)
            env.submit(SUPPLIER, grant)
            status, body = _progress(buyer, SUPPLIER)
            assert status == 200, body
            assert [i["scope1TCO2e"] for i in body["inventories"]] == ["600"]
            assert [t["entryId"] for t in body["targets"]] == [target_id]
            assert body["targets"][0]["progress"][0]["value"] == "850"
            # The grant is the buyer's alone.
            _hidden(other)

            env.revoke(SUPPLIER, grant["entryId"])
            _hidden(buyer)
        with env.client(SUPPLIER) as supplier, env.client(AUDITOR) as auditor:
            for reader in (supplier, auditor):  # the supplier and auditors need no grant
                assert _progress(reader, SUPPLIER)[0] == 200


def test_an_inventory_grant_opens_only_inside_its_window(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _setup(env)
        expired = {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2021-01-01T00:00:00Z"}
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER, **expired))
        future = {"validFrom": "2999-01-01T00:00:00Z"}
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER, **future))
        with env.client(BUYER) as buyer:
            _hidden(buyer)
            env.submit(
                SUPPLIER,
                inventory_grant(
                    SUPPLIER,
                    BUYER,
                    validFrom="2020-01-01T00:00:00Z",
                    validUntil="2999-01-01T00:00:00Z",
                ),
            )
            assert _progress(buyer, SUPPLIER)[0] == 200


def test_a_footprint_grant_opens_no_inventory(tmp_path: Path, db_url: str) -> None:
    """The kinds do not leak into each other: a product grant is no inventory grant."""
    with environment(tmp_path, db_url) as env:
        _setup(env)
        product = "urn:pact:product:supplier:cell"
        env.footprint(SUPPLIER, product)
        env.grant(SUPPLIER, BUYER, "detail", productId=product)
        with env.client(BUYER) as buyer:
            _hidden(buyer)
