"""Companies bound to organisations, through a real ledger (issue 13, finding 2).

The attack: supplier A declared a footprint naming B's company id (999 kgCO2e).
It was recorded, B's own declaration of the product was then refused as a second
active footprint, and a downstream supplier citing ``(product, B)`` got A's 999.
Now the operator binds company ids to orgs (``org.enroll`` ``companyIds``,
``org.companies``), a footprint names only its signer's company ids, one active
footprint is per owner, and a citation resolves through the company's owner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.audit.model import Check
from clients.sdk import OrgSigner, Rejected, new_entry
from ledger.keys import encode_public_key, new_private_key
from tests import carbon_builders as cb
from tests.chain_fixture import LI2CO3, RECYCLER, REFINER, Chain, chain, rejected
from tests.ledger_fixtures import enroll
from tests.test_audit_engine import genesis, replay
from tests.test_authority_rules import _audit_agrees
from tests.test_gateway_support import SUPPLIER, SUPPLIER_B, environment

__all__ = ["chain"]  # the fixture, imported for pytest

BRAND = "urn:pact:company:customcode:acme-brand"  # a second company id, bound by the operator
DOWNSTREAM = "urn:pact:company:customcode:cell-maker"
CELL = "urn:pact:product:cell-maker:lfp-cell"


def _enroll_entry(operator: OrgSigner, org: str, *roles: str, **members: Any) -> dict[str, Any]:
    return new_entry(
        "org.enroll",
        operator.org,
        orgId=org,
        name=org.rsplit(":", 1)[-1],
        roles=list(roles),
        publicKey=encode_public_key(OrgSigner(org, new_private_key()).public_key),
        **members,
    )


def _companies(signer: OrgSigner, org: str, *company_ids: str) -> dict[str, Any]:
    return new_entry("org.companies", signer.org, orgId=org, companyIds=list(company_ids))


def _squat(org: str, victim: str, product: str) -> dict[str, Any]:
    entry = cb.footprint_entry(org, product, pcf="999")
    entry["footprint"]["companyIds"] = [victim, org]
    return entry


def test_a_footprint_names_only_its_signers_company_ids(chain: Chain) -> None:
    squat = rejected(chain, chain.refiner, _squat(REFINER, RECYCLER, LI2CO3))
    assert squat.code == grpc.StatusCode.PERMISSION_DENIED
    assert squat.message.startswith("footprint.companyIds[0]: ")
    # An id bound to nobody gets the same refusal: the message tells no owner.
    unbound = rejected(chain, chain.refiner, _squat(REFINER, "urn:pact:company:x:nobody", LI2CO3))
    assert unbound.code == squat.code
    assert unbound.message.replace("urn:pact:company:x:nobody", "<id>") == squat.message.replace(
        RECYCLER, "<id>"
    )
    # The victim's own declaration of its product is recorded, and a supplier downstream
    # citing (product, victim) cites the victim's footprint (its unit is checked).
    chain.submit(chain.recycler, cb.footprint_entry(RECYCLER, LI2CO3))
    downstream = enroll(chain.client, chain.operator, DOWNSTREAM, "supplier")
    chain.submit(chain.recycler, cb.grant(RECYCLER, DOWNSTREAM, product_id=LI2CO3))
    cites = {"productId": LI2CO3, "companyId": RECYCLER, "amount": "2", "unit": "liter"}
    refused = rejected(chain, downstream, cb.footprint_entry(DOWNSTREAM, CELL, inputs=[cites]))
    assert refused.message.startswith("composition.inputs[0].unit: ")
    assert "declared unit of the footprint this input cites" in refused.message
    assert "'kilogram'" not in refused.message  # the unit of another org's footprint
    chain.submit(
        downstream, cb.footprint_entry(DOWNSTREAM, CELL, inputs=[{**cites, "unit": "gram"}])
    )
    _audit_agrees(chain)


def test_a_company_id_belongs_to_one_org_and_no_refusal_names_the_holder(chain: Chain) -> None:
    chain.submit(chain.operator, _companies(chain.operator, RECYCLER, RECYCLER, BRAND))
    twice = rejected(
        chain,
        chain.operator,
        _enroll_entry(chain.operator, DOWNSTREAM, "supplier", companyIds=[DOWNSTREAM, BRAND]),
    )
    assert twice.code == grpc.StatusCode.ALREADY_EXISTS
    assert twice.message.startswith("companyIds[1]: ") and "another organisation" in twice.message
    assert RECYCLER not in twice.message
    # The default company id is the org's URN; it too may not be another org's.
    chain.submit(chain.operator, _companies(chain.operator, REFINER, REFINER, DOWNSTREAM))
    default = rejected(chain, chain.operator, _enroll_entry(chain.operator, DOWNSTREAM, "supplier"))
    assert default.code == grpc.StatusCode.ALREADY_EXISTS and default.message.startswith("orgId: ")
    assert REFINER not in default.message
    # Rebinding an enrolled org to a held id is refused alike.
    moved = rejected(chain, chain.operator, _companies(chain.operator, REFINER, REFINER, BRAND))
    assert moved.code == grpc.StatusCode.ALREADY_EXISTS
    assert moved.message.startswith("companyIds[1]: ") and RECYCLER not in moved.message
    # What the org holds it declares for.
    chain.submit(chain.recycler, cb.footprint_entry(RECYCLER, LI2CO3))
    branded = cb.footprint_entry(RECYCLER, LI2CO3)
    branded["footprint"]["companyIds"] = [BRAND]
    chain.submit(chain.recycler, branded)
    _audit_agrees(chain)


def test_only_the_operator_binds_companies(chain: Chain) -> None:
    grab = rejected(chain, chain.refiner, _companies(chain.refiner, REFINER, REFINER, BRAND))
    assert grab.code == grpc.StatusCode.PERMISSION_DENIED and grab.message.startswith("type: ")
    missing = rejected(
        chain, chain.operator, _companies(chain.operator, "urn:pact:company:x:nobody", BRAND)
    )
    assert missing.code == grpc.StatusCode.FAILED_PRECONDITION
    assert missing.message.startswith("orgId: ")
    branded = cb.footprint_entry(REFINER, LI2CO3)
    branded["footprint"]["companyIds"] = [BRAND]
    before = rejected(chain, chain.refiner, branded)
    assert before.message.startswith("footprint.companyIds[0]: ")
    chain.submit(chain.operator, _companies(chain.operator, REFINER, BRAND))
    chain.submit(chain.refiner, branded)
    # The ids the org had are released: its URN is no longer its company.
    own = rejected(chain, chain.refiner, cb.footprint_entry(REFINER, "urn:pact:product:r:cu"))
    assert own.message.startswith("footprint.companyIds[0]: ")
    _audit_agrees(chain)


def test_nothing_another_org_recorded_blocks_an_orgs_own_product(chain: Chain) -> None:
    """A company id the operator moved from A to B: A's active footprint naming it stays
    A's, and neither blocks B's declaration nor answers citations of the company."""
    chain.submit(chain.operator, _companies(chain.operator, REFINER, REFINER, BRAND))
    stale = cb.footprint_entry(REFINER, LI2CO3, unit="liter", pcf="999")
    stale["footprint"]["pcf"]["productMassPerDeclaredUnit"] = "1.2"
    stale["footprint"]["companyIds"] = [BRAND]
    chain.submit(chain.refiner, stale)
    chain.submit(chain.operator, _companies(chain.operator, REFINER, REFINER))
    chain.submit(chain.operator, _companies(chain.operator, RECYCLER, RECYCLER, BRAND))
    own = cb.footprint_entry(RECYCLER, LI2CO3)
    own["footprint"]["companyIds"] = [BRAND]
    chain.submit(chain.recycler, own)
    # The old holder cannot supersede into the company any more, nor the new one A's.
    restate = cb.footprint_entry(REFINER, LI2CO3, preceding=[stale["footprint"]["id"]])
    restate["footprint"]["companyIds"] = [BRAND]
    assert rejected(chain, chain.refiner, restate).message.startswith("footprint.companyIds[0]: ")
    downstream = enroll(chain.client, chain.operator, DOWNSTREAM, "supplier")
    chain.submit(chain.recycler, cb.grant(RECYCLER, DOWNSTREAM, product_id=LI2CO3))
    cites = {"productId": LI2CO3, "companyId": BRAND, "amount": "2", "unit": "liter"}
    refused = rejected(chain, downstream, cb.footprint_entry(DOWNSTREAM, CELL, inputs=[cites]))
    assert refused.message.startswith("composition.inputs[0].unit: ")
    assert "declared unit of the footprint this input cites" in refused.message
    assert "'kilogram'" not in refused.message  # the unit of another org's footprint
    _audit_agrees(chain)


def test_a_companys_product_is_its_owners_footprint_over_http(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        with pytest.raises(Rejected) as squat:
            env.submit(SUPPLIER_B, _squat(SUPPLIER_B, SUPPLIER, LI2CO3))
        assert squat.value.message.startswith("footprint.companyIds[0]: ")
        fid, _ = env.footprint(SUPPLIER, LI2CO3)
        with env.client(SUPPLIER) as client:
            answer = client.get(f"/v1/products/{LI2CO3}/footprint", params={"companyId": SUPPLIER})
        assert answer.status_code == 200, answer.text
        assert answer.json()["footprintId"] == fid


def test_computed_footprints_cite_the_companys_current_owner(tmp_path: Path, db_url: str) -> None:
    """The footprint engine behind ``/computed`` resolves ``(product, company)`` as the
    ledger's rules do: to the footprint of the org the company id is bound to now, also
    when a rebinding arrives after the engine was built (incremental update)."""
    with environment(tmp_path, db_url) as env:
        operator = env.operator
        env.ledger.submit(operator.sign(_companies(operator, SUPPLIER_B, SUPPLIER_B, BRAND)))
        stale = cb.footprint_entry(SUPPLIER_B, LI2CO3, pcf="999")
        stale["footprint"]["companyIds"] = [BRAND]
        stale["footprint"]["created"] = "2025-06-01T00:00:00Z"  # newer than the owner's
        stale["composition"]["ownEmissions"][0]["kgCO2e"] = "999"
        env.submit(SUPPLIER_B, stale)
        env.grant(SUPPLIER_B, SUPPLIER, productId=LI2CO3)  # citing needs the owner's consent
        cites = {"productId": LI2CO3, "companyId": BRAND, "amount": "2", "unit": "kilogram"}
        cell = cb.footprint_entry(SUPPLIER, CELL, inputs=[cites])
        env.submit(SUPPLIER, cell)
        cell_id = cell["footprint"]["id"]

        def total() -> str:
            with env.client(SUPPLIER) as client:
                answer = client.get(f"/v1/footprints/{cell_id}/computed")
            assert answer.status_code == 200, answer.text
            return str(answer.json()["total"])

        assert total() == "1998.9"  # 0.9 own + 2 x 999: the brand is SUPPLIER_B's
        env.ledger.submit(operator.sign(_companies(operator, SUPPLIER_B, SUPPLIER_B)))
        env.ledger.submit(operator.sign(_companies(operator, SUPPLIER, SUPPLIER, BRAND)))
        assert total() == "0.9"  # the new owner has declared nothing yet: a gap
        own = cb.footprint_entry(SUPPLIER, LI2CO3)
        own["footprint"]["companyIds"] = [BRAND]
        env.submit(SUPPLIER, own)
        assert total() == "2.7"  # 0.9 + 2 x 0.9, SUPPLIER_B's newer footprint ignored


def test_an_audit_names_a_squatted_company_a_compromised_ledger_recorded() -> None:
    """A log recorded with no rules: the auditor's replay names the footprint that
    names another org's company, the enrolment of a held company id and a rebinding
    signed by a supplier."""
    log, operator = genesis()
    recycler = log.enroll(operator, RECYCLER, "supplier")
    refiner = log.enroll(operator, REFINER, "supplier")
    squat = log.append(refiner, _squat(REFINER, RECYCLER, LI2CO3))
    log.append(recycler, cb.footprint_entry(RECYCLER, LI2CO3))
    held = log.append(
        operator, _enroll_entry(operator, DOWNSTREAM, "supplier", companyIds=[RECYCLER])
    )
    grab = log.append(refiner, _companies(refiner, REFINER, REFINER, BRAND))
    failures = [(f.check, f.seq) for f in replay(log.records).failures]
    assert failures == [
        (Check.AUTHORITY, squat),
        (Check.AUTHORITY, held),
        (Check.AUTHORITY, grab),
    ]
