"""Computed footprints (through ``graph``), contribution trees and supplier progress,
over loopback, with the access rules."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from clients.sdk import new_entry
from ledger.entries.carbon import load_default_factors
from tests import carbon_builders as cb
from tests.carbon_builders import inventory_grant
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll
from tests.test_gateway_support import OTHER_BUYER, SUPPLIER_B, environment, footprint_entry

CATHODE = "urn:pact:product:cathode-b:lfp-cathode"
CELL = "urn:pact:product:recycler-a:lfp-cell"
VERIFIER = "urn:pact:company:customcode:verifier-v"


def _cell_entry() -> dict[str, Any]:
    entry = footprint_entry(SUPPLIER, CELL, unit="kilogram")
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "5"}],
        "inputs": [
            {"productId": CATHODE, "companyId": SUPPLIER_B, "amount": "2", "unit": "kilogram"}
        ],
    }
    return entry


def test_computed_footprints_follow_the_supply_chain(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        cathode = footprint_entry(SUPPLIER_B, CATHODE, unit="kilogram")
        cathode["composition"]["ownEmissions"] = [
            {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": "10"}
        ]
        env.submit(SUPPLIER_B, cathode)
        env.grant(SUPPLIER_B, SUPPLIER, productId=CATHODE)  # citing needs the owner's consent
        cell = _cell_entry()
        env.submit(SUPPLIER, cell)
        cell_id = cell["footprint"]["id"]
        env.orgs[VERIFIER] = enroll(env.ledger, env.operator, VERIFIER, "verifier")
        env.grant(SUPPLIER, VERIFIER, "detail", footprintId=cell_id)  # attests what it read
        attestation = new_entry(
            "attestation",
            VERIFIER,
            footprintEntryId=cell["entryId"],
            standard="ISO14067",
            assuranceLevel="limited",
            boundary="cradle-to-gate",
            validFrom="2025-01-01T00:00:00Z",
            validUntil="2026-01-01T00:00:00Z",
        )
        env.submit(VERIFIER, attestation)
        grant = env.grant(SUPPLIER, BUYER, "summary", footprintId=cell_id)
        with (
            env.client(SUPPLIER) as owner,
            env.client(BUYER) as buyer,
            env.client(OTHER_BUYER) as other,
            env.client(AUDITOR) as auditor,
        ):
            got = owner.get(f"/v1/footprints/{cell_id}/computed").json()
            assert got["total"] == "25" and got["declaredUnitOfMeasurement"] == "kilogram"
            assert got["byScope"] == {"1": "0", "2": "5", "3": "20"}
            assert got["byStage"]["raw-material-acquisition"] == "20"
            assert got["bySupplier"] == {SUPPLIER: "5", SUPPLIER_B: "20"}
            assert got["declared"] == "71.4" and got["flagged"] is True
            # (25 − 71.4) / 71.4 as a percent, 12 significant digits
            assert got["relativeDifference"] == "-64.9859943978"
            assert [a["entryId"] for a in got["attestations"]] == [attestation["entryId"]]
            assert got["complete"] is True

            by_product = auditor.get(
                f"/v1/products/{CELL}/footprint", params={"companyId": SUPPLIER}
            )
            assert by_product.status_code == 200 and by_product.json()["total"] == "25"

            summary = buyer.get(f"/v1/footprints/{cell_id}/computed").json()
            assert summary["total"] == "25" and summary["bySupplier"] is None
            assert summary["attestations"] == [] and summary["retirements"] == []
            assert buyer.get(f"/v1/footprints/{cell_id}/contributions").status_code == 404
            env.grant(SUPPLIER, BUYER, "detail", footprintId=cell_id)
            tree = buyer.get(
                f"/v1/footprints/{cell_id}/contributions", params={"depth": 2, "cutoff": 0}
            ).json()
            assert tree["kgCO2e"] == "25" and tree["share"] == "100"  # percent
            assert sum(float(c["kgCO2e"]) for c in tree["children"]) == 25
            # The cathode is not shared with the buyer: one undisclosed line (graph.cut).
            assert {c["kind"] for c in tree["children"]} == {"own", "undisclosed"}
            assert cathode["footprint"]["id"] not in str(tree)

            for path in (
                f"/v1/footprints/{cell_id}/computed",
                f"/v1/products/{CELL}/footprint?companyId={SUPPLIER}",
                f"/v1/footprints/{uuid.uuid4()}/computed",
                f"/v1/products/{CELL}/footprint?companyId={SUPPLIER_B}",
            ):
                answer = other.get(path)
                assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
            env.revoke(SUPPLIER, grant)
            bad = owner.get(f"/v1/footprints/{cell_id}/contributions", params={"depth": 0})
            assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"


def test_contribution_lines_name_their_unit_and_the_factor_they_apply(
    tmp_path: Path, db_url: str
) -> None:
    """A factor line carries what its set states (gases, source); a set that does not
    state its gas coverage is served with null, not a guess."""
    with environment(tmp_path, db_url) as env:
        env.ledger.submit(env.operator.sign(cb.default_factor_set(env.operator.org)))
        older = load_default_factors()
        older["version"] = "2023.1"
        older["factors"] = [
            {k: v for k, v in f.items() if k != "gasCoverage"} for f in older["factors"]
        ]
        env.ledger.submit(
            env.operator.sign(new_entry("factors.publish", env.operator.org, **older))
        )
        entry = footprint_entry(SUPPLIER, CELL, unit="kilogram")
        old_grid = cb.grid_electricity("10")  # a new dict each call
        old_grid["factor"]["version"] = "2023.1"
        entry["composition"]["inputs"] = [cb.grid_electricity("20"), old_grid]
        env.submit(SUPPLIER, entry)
        fid = entry["footprint"]["id"]
        with env.client(SUPPLIER) as owner:
            tree = owner.get(f"/v1/footprints/{fid}/contributions", params={"cutoff": 0}).json()
    assert tree["unit"] == "kilogram" and tree["factor"] is None
    lines = {c["label"]: c for c in tree["children"] if c["kind"] == "factor"}
    new = lines["factor cn-default/2024.1/electricity-grid-cn"]
    old = lines["factor cn-default/2023.1/electricity-grid-cn"]
    assert new["unit"] is None and new["kgCO2e"] == "10.732"  # 20 kWh x 0.5366
    assert new["factor"]["gasCoverage"] == "CO2" and old["factor"]["gasCoverage"] is None
    for line, version in ((new, "2024.1"), (old, "2023.1")):
        stated = line["factor"]
        assert (stated["setId"], stated["version"], stated["key"]) == (
            "cn-default",
            version,
            "electricity-grid-cn",
        )
        assert (stated["value"], stated["unit"], stated["basis"]) == (
            "0.5366",
            "kilowatt hour",
            "grid-average",
        )
        assert (
            stated["source"].startswith("carbonledger FIGURES.md")
            and "CO2 only" in stated["method"]
        )


def test_supplier_progress_against_targets(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        target = cb.target(BUYER, SUPPLIER)
        env.submit(BUYER, target)
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER))
        for year, s1, s2 in ((2022, "700", "300"), (2024, "600", "250"), (2025, "700", "290")):
            env.submit(
                SUPPLIER,
                new_entry(
                    "inventory",
                    SUPPLIER,
                    reportingYear=year,
                    scope1TCO2e=s1,
                    scope2TCO2e=s2,
                    electricityMWh="100",
                    renewableElectricityMWh="20",
                ),
            )
        with (
            env.client(BUYER) as buyer,
            env.client(SUPPLIER) as supplier,
            env.client(OTHER_BUYER) as other,
        ):
            got = buyer.get(f"/v1/suppliers/{SUPPLIER}/progress").json()
            assert [i["reportingYear"] for i in got["inventories"]] == [2022, 2024, 2025]
            (mine,) = got["targets"]
            assert mine["entryId"] == target["entryId"] and mine["buyer"] == BUYER
            by_year = {p["year"]: p for p in mine["progress"]}
            assert by_year[2024]["value"] == "850" and by_year[2024]["expected"] == "900"
            assert by_year[2024]["changeFromBase"] == "-15" and by_year[2024]["onTrack"] is True
            assert by_year[2025]["value"] == "990" and by_year[2025]["onTrack"] is False
            assert supplier.get(f"/v1/suppliers/{SUPPLIER}/progress").json()["targets"] == [mine]
            hidden = other.get(f"/v1/suppliers/{SUPPLIER}/progress")
            assert hidden.status_code == 404 and hidden.json()["code"] == "NotFound"


def test_progress_of_inventories_at_the_size_limit(tmp_path: Path, db_url: str) -> None:
    """Inventory figures may hold up to 64 digits; progress computed from them is served
    to 12 significant digits like every computed quantity, not a 500 (red team: a
    25-digit scope 1 broke the view)."""
    huge = "9" * 60
    with environment(tmp_path, db_url) as env:
        env.submit(
            BUYER,
            cb.target(BUYER, SUPPLIER, scopes=["1"]),
        )
        env.submit(
            SUPPLIER,
            new_entry(
                "inventory",
                SUPPLIER,
                reportingYear=2024,
                scope1TCO2e=huge,
                scope2TCO2e="1",
                electricityMWh="100",
                renewableElectricityMWh="20",
            ),
        )
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER))
        with env.client(BUYER) as buyer:
            answer = buyer.get(f"/v1/suppliers/{SUPPLIER}/progress")
            assert answer.status_code == 200, answer.text
            (point,) = answer.json()["targets"][0]["progress"]
            assert point["value"] == "1" + "0" * 60  # 60 nines to 12 significant digits
