"""A citation follows only what the cited footprint's owner shared (issue 13, red-team
finding F1), through a real ledger and gateway on SQLite and PostgreSQL.

Without ``graph.sharing``, a citation of B's product kept resolving to B's newest
footprint after B revoked its grant, so C's own computed total moved with values C may no
longer read; and a citation of a footprint id not recorded yet picked up B's footprint
once B recorded that id, without any grant. The chain (from ``test_citation_consent``):
D (10 kgCO2e/kg) → B (2 own + 0.5 kg of D: 7) → C (1 own + 1 kg of B: 8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ledger_fixtures import AUDITOR
from tests.test_audit_mix import grpc_audit
from tests.test_citation_consent import (
    B_PRODUCT,
    C_PRODUCT,
    MP,
    _chain,
    _cite_product,
    _computed,
    _leaks,
)
from tests.test_gateway_support import SUPPLIER, SUPPLIER_B, Env, footprint_entry


def _record(
    env: Env, org: str, product: str, own_kg: str, inputs: list[dict[str, Any]], **kw: Any
) -> str:
    """Record ``org``'s footprint of ``product`` (1 kg: ``own_kg`` own main-production
    emissions and ``inputs``); its id."""
    entry = footprint_entry(org, product, unit="kilogram", **kw)
    entry["composition"] = {
        "ownEmissions": [{"stage": MP, "scope": "1", "kgCO2e": own_kg}],
        "inputs": inputs,
    }
    env.submit(org, entry)
    return str(entry["footprint"]["id"])


def _supersede_b(env: Env, b_id: str) -> str:
    """B replaces its footprint by one of 102 kgCO2e own emissions (no inputs)."""
    return _record(env, SUPPLIER_B, B_PRODUCT, "102", [], preceding=[b_id])


def test_after_revocation_a_product_citation_does_not_follow_the_owner(
    tmp_path: Path, db_url: str
) -> None:
    with _chain(tmp_path, db_url) as (env, _, b_id):
        grant = env.grant(SUPPLIER_B, SUPPLIER, "summary", productId=B_PRODUCT)
        c_id = _record(env, SUPPLIER, C_PRODUCT, "1", [_cite_product(B_PRODUCT, SUPPLIER_B)])
        computed, _ = _computed(env, SUPPLIER, c_id)
        assert computed["total"] == "8" and computed["complete"] is True
        env.revoke(SUPPLIER_B, grant)
        # Revoking alone changes nothing: what B shared stays followed.
        assert _computed(env, SUPPLIER, c_id)[0]["total"] == "8"

        new_b = _supersede_b(env, b_id)
        computed, tree = _computed(env, SUPPLIER, c_id)
        # C's total no longer carries B's unshared value (103 would reveal 102): the
        # citation is a gap, reported as "nothing active", and nothing names B's new data.
        assert computed["total"] == "1"
        assert computed["complete"] is False and computed["gaps"] == 1
        assert computed["bySupplier"] == {SUPPLIER: "1"}
        assert [n["kind"] for n in tree["children"]] == ["own"]
        assert _leaks(computed, new_b) == [] and _leaks(tree, new_b) == []

        # B shares its product line again: C follows B's new footprint from now on.
        env.grant(SUPPLIER_B, SUPPLIER, "summary", productId=B_PRODUCT)
        computed, _ = _computed(env, SUPPLIER, c_id)
        assert computed["total"] == "103" and computed["complete"] is True

        # The auditor's replay computes over the same rule and agrees.
        report = grpc_audit(env.server, env.orgs[AUDITOR], None)
        assert report.ok, report.to_text()


def test_while_the_grant_is_live_a_product_citation_follows_the_owner(
    tmp_path: Path, db_url: str
) -> None:
    with _chain(tmp_path, db_url) as (env, _, b_id):
        env.grant(SUPPLIER_B, SUPPLIER, "summary", productId=B_PRODUCT)
        c_id = _record(env, SUPPLIER, C_PRODUCT, "1", [_cite_product(B_PRODUCT, SUPPLIER_B)])
        _supersede_b(env, b_id)
        assert _computed(env, SUPPLIER, c_id)[0]["total"] == "103"
