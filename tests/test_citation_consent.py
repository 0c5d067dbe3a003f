"""Citing needs consent, and the supply graph is cut by the access policy (issue 13,
finding 3), through a real ledger and gateway on loopback, on SQLite and PostgreSQL.

The chain: D (raw material, 10 kgCO2e/kg, raw-material acquisition) → B (2 kgCO2e/kg own,
0.5 kg of D per kg: total 7) → C (1 kgCO2e/kg own, 1 kg of B per kg: total 8). C is
``SUPPLIER``, B ``SUPPLIER_B``, D a third supplier.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.sdk import Rejected
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll
from tests.test_audit_mix import grpc_audit
from tests.test_gateway_support import SUPPLIER_B, Env, environment, footprint_entry

MINE_D = "urn:pact:company:customcode:mine-d"
D_PRODUCT = "urn:pact:product:mine-d:ore"
B_PRODUCT = "urn:pact:product:cathode-b:precursor"
C_PRODUCT = "urn:pact:product:supplier-c:cell"
RA, MP = "raw-material-acquisition", "main-production"


def _declare(
    env: Env, org: str, product: str, own: tuple[str, str, str], inputs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Record ``org``'s footprint of ``product`` (kilogram) with one own line and
    ``inputs``; the entry as submitted."""
    entry = footprint_entry(org, product, unit="kilogram")
    stage, scope, kg = own
    entry["composition"] = {
        "ownEmissions": [{"stage": stage, "scope": scope, "kgCO2e": kg}],
        "inputs": inputs,
    }
    env.submit(org, entry)
    return entry


def _cite(footprint_id: str, amount: str = "1") -> dict[str, Any]:
    return {"footprintId": footprint_id, "amount": amount, "unit": "kilogram"}


def _cite_product(product: str, company: str, amount: str = "1") -> dict[str, Any]:
    return {"productId": product, "companyId": company, "amount": amount, "unit": "kilogram"}


def _refusal(env: Env, org: str, inputs: list[dict[str, Any]]) -> Rejected:
    """Submit a footprint of ``org`` citing ``inputs``; it must be refused and leave the
    log as it was."""
    size = env.server.store.tree_size()
    with pytest.raises(Rejected) as caught:
        _declare(env, org, f"urn:pact:product:x:{uuid.uuid4()}", (MP, "1", "1"), inputs)
    assert env.server.store.tree_size() == size
    return caught.value


@contextmanager
def _chain(tmp_path: Path, db_url: str) -> Iterator[tuple[Env, str, str]]:
    """The environment with D's and B's footprints recorded (D granted B its product line);
    yields it with D's and B's footprint ids."""
    with environment(tmp_path, db_url) as env:
        env.orgs[MINE_D] = enroll(env.ledger, env.operator, MINE_D, "supplier")
        d = _declare(env, MINE_D, D_PRODUCT, (RA, "3", "10"), [])
        env.grant(MINE_D, SUPPLIER_B, "summary", productId=D_PRODUCT)
        b = _declare(
            env, SUPPLIER_B, B_PRODUCT, (MP, "1", "2"), [_cite(d["footprint"]["id"], "0.5")]
        )
        yield env, d["footprint"]["id"], b["footprint"]["id"]


def test_citing_without_a_grant_is_refused_and_tells_nothing(tmp_path: Path, db_url: str) -> None:
    with _chain(tmp_path, db_url) as (env, _, b_id):
        unknown = str(uuid.uuid4())
        by_id = _refusal(env, SUPPLIER, [_cite(b_id)])
        by_unknown_id = _refusal(env, SUPPLIER, [_cite(unknown)])
        assert by_id.code == by_unknown_id.code == grpc.StatusCode.PERMISSION_DENIED
        assert "composition.inputs[0]" in by_id.message
        # The same words whether B's footprint exists or not.
        assert by_id.message.replace(b_id, unknown) == by_unknown_id.message
        assert SUPPLIER_B not in by_id.message

        product = _refusal(env, SUPPLIER, [_cite_product(B_PRODUCT, SUPPLIER_B)])
        no_product = _refusal(env, SUPPLIER, [_cite_product("urn:pact:product:none", SUPPLIER_B)])
        no_company = _refusal(
            env, SUPPLIER, [_cite_product(B_PRODUCT, "urn:pact:company:customcode:nobody")]
        )
        assert product.code == no_product.code == no_company.code == by_id.code
        assert product.message.replace(B_PRODUCT, "urn:pact:product:none") == no_product.message
        assert (
            product.message.replace(SUPPLIER_B, "urn:pact:company:customcode:nobody")
            == no_company.message
        )

        # The owner's grant to someone else is no consent for C; C's own products need none,
        # even before they are recorded (as when a recycling loop closes).
        env.grant(SUPPLIER_B, BUYER, "detail", footprintId=b_id)
        assert _refusal(env, SUPPLIER, [_cite(b_id)]).message == by_id.message
        own_loop = [_cite_product("urn:pact:product:supplier-c:scrap", SUPPLIER, "0.1")]
        _declare(env, SUPPLIER, C_PRODUCT, (MP, "1", "1"), own_loop)


def test_a_grant_expired_or_revoked_at_the_record_time_is_no_consent(
    tmp_path: Path, db_url: str
) -> None:
    with _chain(tmp_path, db_url) as (env, _, b_id):
        by_id = _refusal(env, SUPPLIER, [_cite(b_id)]).message
        by_product = _refusal(env, SUPPLIER, [_cite_product(B_PRODUCT, SUPPLIER_B)]).message
        env.grant(
            SUPPLIER_B,
            SUPPLIER,
            "detail",
            footprintId=b_id,
            validFrom="2020-01-01T00:00:00Z",
            validUntil="2021-01-01T00:00:00Z",
        )
        env.grant(
            SUPPLIER_B, SUPPLIER, "detail", footprintId=b_id, validFrom="2999-01-01T00:00:00Z"
        )
        assert _refusal(env, SUPPLIER, [_cite(b_id)]).message == by_id
        assert _refusal(env, SUPPLIER, [_cite_product(B_PRODUCT, SUPPLIER_B)]).message == by_product
        live = env.grant(SUPPLIER_B, SUPPLIER, "summary", productId=B_PRODUCT)
        _declare(env, SUPPLIER, C_PRODUCT, (MP, "1", "1"), [_cite(b_id)])
        env.revoke(SUPPLIER_B, live)
        assert _refusal(env, SUPPLIER, [_cite(b_id)]).message == by_id
        assert _refusal(env, SUPPLIER, [_cite_product(B_PRODUCT, SUPPLIER_B)]).message == by_product

        # The auditor's replay of this log reaches the ledger's verdicts: every citation
        # recorded was consented to at its own timestamp.
        report = grpc_audit(env.server, env.orgs[AUDITOR], None)
        assert report.ok, report.to_text()


def _computed(env: Env, org: str, footprint_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with env.client(org) as http:
        computed = http.get(f"/v1/footprints/{footprint_id}/computed")
        tree = http.get(
            f"/v1/footprints/{footprint_id}/contributions", params={"depth": 10, "cutoff": 0}
        )
    assert computed.status_code == 200 and tree.status_code == 200, computed.text + tree.text
    return computed.json(), tree.json()


def _leaks(answer: dict[str, Any], *secrets: str) -> list[str]:
    text = json.dumps(answer)
    return [s for s in secrets if s in text]


def test_a_summary_grant_shows_the_supplier_not_its_breakdown(tmp_path: Path, db_url: str) -> None:
    with _chain(tmp_path, db_url) as (env, d_id, b_id):
        env.grant(SUPPLIER_B, SUPPLIER, "summary", footprintId=b_id)
        c = _declare(env, SUPPLIER, C_PRODUCT, (MP, "2", "1"), [_cite(b_id)])
        computed, tree = _computed(env, SUPPLIER, c["footprint"]["id"])
        assert computed["total"] == "8"
        assert computed["bySupplier"] == {SUPPLIER: "1", SUPPLIER_B: "7"}
        # B's whole contribution, split as B's own summary result is (D's part included).
        assert computed["byStage"][RA] == "5" and computed["byStage"][MP] == "3"
        assert computed["byScope"] == {"1": "2", "2": "1", "3": "5"}
        (b_node,) = [n for n in tree["children"] if n["kind"] == "footprint"]
        assert b_node["footprintId"] == b_id and b_node["kgCO2e"] == "7"
        assert b_node["children"] == []
        assert sum(float(n["kgCO2e"]) for n in tree["children"]) == 8
        assert _leaks(computed, d_id, MINE_D) == [] and _leaks(tree, d_id, MINE_D) == []


def test_a_detail_grant_opens_the_supplier_and_collapses_beyond(
    tmp_path: Path, db_url: str
) -> None:
    with _chain(tmp_path, db_url) as (env, d_id, b_id):
        env.grant(SUPPLIER_B, SUPPLIER, "detail", footprintId=b_id)
        c = _declare(env, SUPPLIER, C_PRODUCT, (MP, "2", "1"), [_cite(b_id)])
        c_id = c["footprint"]["id"]
        computed, tree = _computed(env, SUPPLIER, c_id)
        assert computed["total"] == "8"
        assert computed["bySupplier"] == {SUPPLIER: "1", SUPPLIER_B: "2", "undisclosed": "5"}
        assert computed["byStage"][MP] == "3" and computed["byStage"]["undisclosed"] == "5"
        assert computed["byStage"][RA] == "0"
        assert computed["byScope"]["undisclosed"] == "5"
        (b_node,) = [n for n in tree["children"] if n["kind"] == "footprint"]
        assert {n["kind"]: n["kgCO2e"] for n in b_node["children"]} == {
            "own": "2",
            "undisclosed": "5",
        }
        hidden = next(n for n in b_node["children"] if n["kind"] == "undisclosed")
        assert hidden["footprintId"] is None and hidden["children"] == []
        assert _leaks(computed, d_id, MINE_D) == [] and _leaks(tree, d_id, MINE_D) == []

        # A buyer granted C in detail and nothing upstream sees B as undisclosed too.
        env.grant(SUPPLIER, BUYER, "detail", footprintId=c_id)
        computed, tree = _computed(env, BUYER, c_id)
        assert computed["total"] == "8"
        assert computed["bySupplier"] == {SUPPLIER: "1", "undisclosed": "7"}
        assert [n["kind"] for n in tree["children"]] == ["undisclosed", "own"]
        assert _leaks(computed, b_id, SUPPLIER_B, d_id) == []
        assert _leaks(tree, b_id, SUPPLIER_B, d_id) == []

        # The auditor sees everything, uncut.
        computed, tree = _computed(env, AUDITOR, c_id)
        assert computed["bySupplier"] == {SUPPLIER: "1", SUPPLIER_B: "2", MINE_D: "5"}
        assert d_id in json.dumps(tree)
