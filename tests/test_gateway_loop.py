"""Attack: one supplier closes a loop of footprints that consumes one unit of itself.

Through a real ledger (gRPC submissions) and gateway (HTTP), on SQLite and PostgreSQL. The
loop's footprints, and those that consume them, answer 422 ``NoPhysicalSolution`` naming only
the footprint asked about; an unrelated supplier's computed footprint stays 200 with the same
total before, during and after the loop; breaking the loop recovers in the running gateway;
and a gateway started while the loop is active (the start-up build) contains it too.
Before the fix the whole engine raised, so every organisation got 500.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.sdk import new_entry
from tests import carbon_builders as cb
from tests.ledger_fixtures import AUDITOR, SUPPLIER
from tests.test_audit_mix import grpc_audit
from tests.test_gateway_support import SUPPLIER_B, Env, environment, footprint_entry, gateway

ATTACKER, VICTIM = SUPPLIER, SUPPLIER_B
P1 = "urn:pact:product:attacker:p1"
P2 = "urn:pact:product:attacker:p2"
P3 = "urn:pact:product:attacker:p3"


def _footprint(org: str, product: str, inputs: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    entry = footprint_entry(org, product, unit="kilogram", **kw)
    entry["composition"]["inputs"] = inputs
    return entry


def _of(product: str, amount: str = "1") -> dict[str, Any]:
    return {"productId": product, "companyId": ATTACKER, "amount": amount, "unit": "kilogram"}


def _computed(client: httpx.Client, fid: str) -> httpx.Response:
    return client.get(f"/v1/footprints/{fid}/computed")


def _assert_no_physical_solution(
    answer: httpx.Response, fid: str, where: str, *hidden: str
) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "NoPhysicalSolution"
    assert f"footprint {fid} {where} a loop of 2 footprint(s)" in body["message"]
    for other in hidden:  # the loop's other footprints are not named
        assert other not in body["message"]


def _loop(env: Env) -> tuple[str, str, str, str]:
    """The attack: P1 v1; P2 ← 1 kg P1; P1 v2 (superseding v1) ← 1 kg P2; and P3 ← P2."""
    p1v1 = _footprint(ATTACKER, P1, [])
    env.submit(ATTACKER, p1v1)
    p2 = _footprint(ATTACKER, P2, [_of(P1)])
    env.submit(ATTACKER, p2)
    p3 = _footprint(ATTACKER, P3, [_of(P2, "0.5")])
    env.submit(ATTACKER, p3)
    p1v2 = _footprint(ATTACKER, P1, [_of(P2)], preceding=[p1v1["footprint"]["id"]])
    env.submit(ATTACKER, p1v2)
    return (
        p1v1["footprint"]["id"],
        p1v2["footprint"]["id"],
        p2["footprint"]["id"],
        p3["footprint"]["id"],
    )


def test_an_impossible_loop_answers_422_and_leaves_other_footprints_computable(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        env.ledger.submit(env.operator.sign(cb.default_factor_set(env.operator.org)))
        victim = _footprint(VICTIM, "urn:pact:product:victim:cell", [cb.grid_electricity("1.6")])
        env.submit(VICTIM, victim)
        victim_id = victim["footprint"]["id"]
        with env.client(VICTIM) as owner, env.client(ATTACKER) as attacker:
            before = _computed(owner, victim_id)
            assert before.status_code == 200, before.text
            total = before.json()["total"]

            p1v1, p1v2, p2, p3 = _loop(env)
            assert _computed(owner, victim_id).json()["total"] == total
            tree = owner.get(f"/v1/footprints/{victim_id}/contributions")
            assert tree.status_code == 200 and tree.json()["kgCO2e"] == total
            _assert_no_physical_solution(_computed(attacker, p1v2), p1v2, "is in", p2)
            _assert_no_physical_solution(_computed(attacker, p2), p2, "is in", p1v2)
            _assert_no_physical_solution(_computed(attacker, p3), p3, "depends on", p1v2, p2)
            by_product = attacker.get(
                f"/v1/products/{P2}/footprint", params={"companyId": ATTACKER}
            )
            _assert_no_physical_solution(by_product, p2, "is in", p1v2)
            contributions = attacker.get(f"/v1/footprints/{p3}/contributions")
            _assert_no_physical_solution(contributions, p3, "depends on", p1v2, p2)
            with env.client(AUDITOR) as auditor:
                _assert_no_physical_solution(_computed(auditor, p2), p2, "is in", p1v2)

            # a gateway started while the loop is active builds its engine from the log
            with gateway(tmp_path, db_url, server=env.server) as (_, second):
                headers = {"Authorization": f"Bearer {env.token(VICTIM)}"}
                with httpx.Client(base_url=second.url, headers=headers, timeout=30) as fresh:
                    assert _computed(fresh, victim_id).json()["total"] == total
                headers = {"Authorization": f"Bearer {env.token(ATTACKER)}"}
                with httpx.Client(base_url=second.url, headers=headers, timeout=30) as fresh:
                    _assert_no_physical_solution(_computed(fresh, p2), p2, "is in", p1v2)

            # deprecating a loop member breaks the loop in the running gateway
            env.submit(
                ATTACKER,
                new_entry("footprint.deprecate", ATTACKER, footprintId=p1v2, reason="loop"),
            )
            assert _computed(attacker, p1v2).status_code == 404
            assert _computed(attacker, p1v1).status_code == 404  # superseded
            recovered = _computed(attacker, p2)
            assert recovered.status_code == 200, recovered.text
            assert recovered.json()["gaps"] == 1  # P1 has no active footprint now
            assert _computed(attacker, p3).status_code == 200
            assert _computed(owner, victim_id).json()["total"] == total

            spec = owner.get("/openapi.json").json()["paths"]
            for path in (
                "/v1/footprints/{id}/computed",
                "/v1/footprints/{id}/contributions",
                "/v1/products/{productId}/footprint",
            ):
                documented = spec[path]["get"]["responses"]["422"]
                schema = documented["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorBody")


def test_a_superseding_footprint_breaking_the_loop_recovers(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _, p1v2, p2, p3 = _loop(env)
        with env.client(ATTACKER) as attacker:
            _assert_no_physical_solution(_computed(attacker, p2), p2, "is in", p1v2)
            p1v3 = _footprint(ATTACKER, P1, [_of(P2, "0.5")], preceding=[p1v2])
            env.submit(ATTACKER, p1v3)
            fixed = _computed(attacker, p1v3["footprint"]["id"])
            assert fixed.status_code == 200, fixed.text
            assert fixed.json()["total"] == "2.7"  # x = 0.9 + 0.5 (0.9 + x)
            assert _computed(attacker, p2).status_code == 200
            assert _computed(attacker, p3).status_code == 200


def test_the_audit_lists_an_impossible_loop_and_recomputes_the_rest(
    tmp_path: Path, db_url: str
) -> None:
    """Check 8 over a real ledger holding the loop: before containment the audit stopped
    with the engine's error; a NaN total would make its JSON report invalid."""
    with environment(tmp_path, db_url) as env:
        victim_id, _ = env.footprint(VICTIM, "urn:pact:product:victim:cell", unit="kilogram")
        _, p1v2, p2, p3 = _loop(env)
        report = grpc_audit(env.server, env.orgs[AUDITOR], None)
        assert report.ok, report.to_text()
        assert report.footprints is not None
        found = {f.footprint_id: f for f in report.footprints}
        assert found[victim_id].computed == pytest.approx(0.9)
        for fid in (p1v2, p2, p3):
            assert found[fid].computed is None and found[fid].flagged
            assert "no physical solution" in str(found[fid].problem)
        text = json.dumps(report.to_json(), allow_nan=False)  # strict JSON: no NaN
        assert "no physical solution" in text and "no physical solution" in report.to_text()
