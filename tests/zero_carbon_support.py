"""A zero-carbon supplier programme on a real ledger and gateway, for the serving,
page and audit tests (issue 19). (No tests here.)

Three suppliers, each with a site and inventories for 2023 and 2024 (100 t scope 1,
200 t scope 2 location-based over 400 MWh in 2024, 150 t scope 1 in 2023: an own
reduction against the previous year):

* ``SUPPLIER``'s site: 400 MWh of certificates and 100 t of credits retired for it:
  type I five stars;
* ``SUPPLIER_B``'s site: 150 t of credits over a residual of 300 t: type I three
  stars;
* ``THIRD``'s site: claims 400 MWh renewable, nothing backs it: an unbacked claim,
  no level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clients.sdk import new_entry
from ledger.zero_carbon import evaluate_site, result_digest
from ledger.zero_carbon.store import store_reader
from tests import carbon_builders as cb
from tests import site_builders as sb
from tests.ledger_fixtures import BUYER, SUPPLIER, enroll
from tests.test_gateway_support import SUPPLIER_B, Env

THIRD = "urn:pact:company:customcode:third-supplier"
VERIFIER = "urn:pact:company:customcode:site-verifier"
OTHER_VERIFIER = "urn:pact:company:customcode:other-verifier"
FIVE = sb.site_urn("cathode:changsha")
THREE = sb.site_urn("cathode-b:yibin")
UNBACKED = sb.site_urn("third:ningde")
NOWHERE = sb.site_urn("nobody:nowhere")
GEC, CCER = "gec-cn", "ccer-cn"


@dataclass(frozen=True)
class Programme:
    sites: dict[str, str]  # supplier -> its site
    grants: dict[str, str]  # supplier -> entry id of its inventory grant to BUYER


def _bind(env: Env, org: str, registry: str, first: str, last: str) -> None:
    issued = cb.registry_account(env.operator.org, registry, org, serials=[(first, last)])
    env.ledger.submit(env.operator.sign(issued))


def _site_year(env: Env, org: str, site: str, **year_2024: str) -> None:
    env.submit(org, sb.site_enroll(org, site))
    env.submit(org, sb.site_inventory(org, site, 2023, scope1TCO2e="150"))
    env.submit(org, sb.site_inventory(org, site, 2024, **year_2024))


def _retire(env: Env, org: str, site: str, first: str, last: str, **kind: Any) -> None:
    registry = CCER if first.startswith("CCER") else GEC
    env.submit(org, sb.site_retirement(org, site, first, last, registry=registry, **kind))


def record_programme(env: Env) -> Programme:
    """The three suppliers' sites and years, and an inventory grant from each to BUYER."""
    env.orgs[THIRD] = enroll(env.ledger, env.operator, THIRD, "supplier")
    for org, prefix in ((SUPPLIER, "A"), (SUPPLIER_B, "B")):
        _bind(env, org, GEC, f"GEC-{prefix}-000001", f"GEC-{prefix}-000999")
        _bind(env, org, CCER, f"CCER-{prefix}-000001", f"CCER-{prefix}-000999")
    _site_year(env, SUPPLIER, FIVE, renewableElectricityMWh="400")
    _retire(env, SUPPLIER, FIVE, "GEC-A-000001", "GEC-A-000400")
    _retire(env, SUPPLIER, FIVE, "CCER-A-000001", "CCER-A-000100", kind="CCER")
    _site_year(env, SUPPLIER_B, THREE)
    _retire(env, SUPPLIER_B, THREE, "CCER-B-000001", "CCER-B-000150", kind="CCER")
    _site_year(env, THIRD, UNBACKED, renewableElectricityMWh="400")
    grants = {}
    for org in (SUPPLIER, SUPPLIER_B, THIRD):
        grant = cb.inventory_grant(org, BUYER)
        env.submit(org, grant)
        grants[org] = str(grant["entryId"])
    return Programme({SUPPLIER: FIVE, SUPPLIER_B: THREE, THIRD: UNBACKED}, grants)


def attest(env: Env, verifier: str, site: str, owner: str, served: dict[str, Any]) -> str:
    """``verifier`` rates ``site`` for 2024 as ``served`` evaluates it, under a live
    inventory grant from ``owner``; returns the attestation's entry id."""
    env.submit(owner, cb.inventory_grant(owner, verifier))
    rating = new_entry(
        "site.attestation",
        verifier,
        site=site,
        year=2024,
        level=served["level"],
        factoryType=served["factoryType"] or "I",
        inputs=[i["entryId"] for i in served["inputs"]],
        resultDigest=served_digest(env, site),
    )
    env.submit(verifier, rating)
    return str(rating["entryId"])


def served_digest(env: Env, site: str) -> str:
    """The result digest of the site's 2024 evaluation, from the ledger's own store."""
    with env.server.store.db.read() as conn:
        return result_digest(evaluate_site(store_reader(conn), site, 2024))
