"""``footprint`` and ``footprint.deprecate`` entries, and the PACT v3.0 rules.

Figures: battery recycling (FIGURES.md): an LFP cell at 71.4 kgCO2e/kWh (inside the
reported 61-106 range), battery-grade Li2CO3 recovered per batch, LFP cathode, and a
tray of 100% recycled aluminium; factors from the shipped ``cn-default`` set.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import ledger.entries.carbon
from ledger.entries import parse_entry
from ledger.entries.carbon import Footprint, FootprintDeprecate, ProductFootprint
from ledger.errors import MalformedEntryError

DATA = Path(__file__).parent / "data" / "entries"
RECYCLER = "urn:pact:company:customcode:example-recycler"
CATHODE_CO = "urn:pact:company:customcode:example-cathode-co"


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``obj`` with the member at dotted ``path`` set (or removed if ...)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def rejects(obj: dict[str, Any], field: str) -> MalformedEntryError:
    with pytest.raises(MalformedEntryError) as info:
        parse_entry(obj)
    assert info.value.field == field, str(info.value)
    return info.value


def example() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / "footprint-lfp-cell.json").read_text())
    return result


def li2co3_batch() -> dict[str, Any]:
    """Battery-grade Li2CO3 recovered from one batch of LFP batteries, per kg."""
    return {
        "type": "footprint",
        "entryId": "2f6d8a10-5c3e-4b7a-9d21-7e4f0a6b3c58",
        "org": RECYCLER,
        "footprint": {
            "id": "a3c1e5d7-9b2f-4e60-8a14-c6d8e0f2a4b6",
            "specVersion": "3.0.0",
            "precedingPfIds": ["5e7a9c1b-3d5f-4a72-b846-0a2c4e6f8a1c"],
            "created": "2025-04-02T08:00:00Z",
            "status": "Active",
            "validityPeriodStart": "2025-04-01T00:00:00+08:00",
            "validityPeriodEnd": "2026-04-01T00:00:00+08:00",
            "companyName": "Example Recycler Co.",
            "companyIds": [RECYCLER],
            "productDescription": "Battery-grade lithium carbonate recovered from LFP cells "
            "(dry pretreatment, leaching, precipitation)",
            "productIds": ["urn:pact:recycler.example.com:supplier-id:li2co3-bg"],
            "productClassifications": ["urn:pact:productclassification:cas:554-13-2"],
            "productNameCompany": "Li2CO3 battery grade (recycled)",
            "comment": "Batch-specific footprint, batch 2025-03-B017",
            "pcf": {
                "declaredUnitOfMeasurement": "kilogram",
                "declaredUnitAmount": "1",
                "productMassPerDeclaredUnit": "1",
                "referencePeriodStart": "2025-03-01T00:00:00+08:00",
                "referencePeriodEnd": "2025-04-01T00:00:00+08:00",
                "geographyCountrySubdivision": "CN-JX",
                "boundaryProcessesDescription": "Pretreatment, dismantling, leaching, "
                "precipitation and drying of recovered lithium",
                "pcfExcludingBiogenicUptake": "3.21",
                "pcfIncludingBiogenicUptake": "3.21",
                "fossilGhgEmissions": "3.21",
                "fossilCarbonContent": "0.1625",
                "biogenicCarbonContent": "0",
                "biogenicCO2Uptake": "0",
                "packagingEmissionsIncluded": True,
                "packagingGhgEmissions": "0.02",
                "ipccCharacterizationFactors": ["AR6"],
                "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
                "productOrSectorSpecificRules": [
                    {"operator": "Other", "ruleNames": ["EU 2023/1542"], "otherOperatorName": "EU"}
                ],
                "exemptedEmissionsPercent": "0.8",
                "secondaryEmissionFactorSources": [{"name": "cn-default", "version": "2024.1"}],
                "primaryDataShare": "78",
                "dqi": {"technologicalDQR": "1.6", "geographicalDQR": "1.2", "temporalDQR": "1"},
                "verification": {
                    "coverage": "product level",
                    "providerName": "Example Certifier",
                    "completedAt": "2025-04-20T00:00:00Z",
                    "standardName": "ISO 14067",
                },
            },
        },
        "composition": {
            "ownEmissions": [
                {
                    "stage": "main-production",
                    "scope": "1",
                    "kgCO2e": "0.43",
                    "activityBatches": ["9b1d3f5a-7c9e-4b20-8d46-f8a0c2e4a6b8"],
                    "factors": [
                        {
                            "setId": "cn-default",
                            "version": "2024.1",
                            "key": "natural-gas-combustion",
                        }
                    ],
                },
                {
                    "stage": "main-production",
                    "scope": "2",
                    "kgCO2e": "1.61",
                    "activityBatches": ["9b1d3f5a-7c9e-4b20-8d46-f8a0c2e4a6b8"],
                    "factors": [
                        {"setId": "cn-default", "version": "2024.1", "key": "electricity-grid-cn"}
                    ],
                },
            ],
            "inputs": [
                {
                    "factor": {
                        "setId": "cn-default",
                        "version": "2024.1",
                        "key": "steam-purchased",
                    },
                    "amount": "0.0021",
                    "unit": "tonne",
                },
                {
                    "footprintId": "4c9a1e77-2d3b-4f0a-8e6c-1b2d3e4f5a6b",
                    "amount": "0.35",
                    "unit": "kilogram",
                },
                {
                    "factor": {"setId": "cn-default", "version": "2024.1", "key": "rail-freight"},
                    "amount": "1.2",
                    "unit": "ton kilometer",
                },
            ],
            "batchId": "2025-03-B017",
        },
    }


def aluminium_tray() -> dict[str, Any]:
    """A battery tray of 100% recycled aluminium, per piece."""
    entry = li2co3_batch()
    entry["entryId"] = "7d3b5f71-1a2c-4e9b-a0f3-3c5e7a9b1d2f"
    fp = entry["footprint"]
    fp["id"] = "c2e4a6b8-0d1f-4a3c-9e57-b9d1f3a5c7e9"
    del fp["precedingPfIds"], fp["validityPeriodStart"], fp["validityPeriodEnd"]
    fp["productIds"] = ["urn:pact:recycler.example.com:supplier-id:tray-al-r100"]
    fp["productNameCompany"] = "Battery tray, recycled aluminium"
    pcf = fp["pcf"]
    pcf.update(
        declaredUnitOfMeasurement="piece",
        declaredUnitAmount="1",
        productMassPerDeclaredUnit="18.5",
        pcfExcludingBiogenicUptake="41.3",
        pcfIncludingBiogenicUptake="41.3",
        fossilGhgEmissions="41.3",
    )
    del pcf["geographyCountrySubdivision"]
    pcf["geographyRegionOrSubregion"] = "Eastern Asia"
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "9.8"}],
        "inputs": [
            {
                "productId": "urn:pact:smelter.example.com:supplier-id:al-ingot-r",
                "companyId": "urn:pact:company:customcode:example-smelter",
                "amount": "19.1",
                "unit": "kilogram",
                "recycledContent": {"share": "1", "recyclingBurdenKgCO2ePerUnit": "0.52"},
            }
        ],
    }
    return entry


# -- valid entries --


def test_example_file_parses_with_member_names_kept() -> None:
    entry = parse_entry(example())
    assert isinstance(entry, Footprint)
    assert entry.footprint.pcf.declaredUnitOfMeasurement == "kilowatt hour"
    assert entry.footprint.pcf.pcfExcludingBiogenicUptake == "71.4"
    inputs = entry.composition.inputs
    assert [i.companyId is not None for i in inputs] == [True, False, False]
    assert inputs[1].footprintId == "4c9a1e77-2d3b-4f0a-8e6c-1b2d3e4f5a6b"
    assert inputs[2].factor is not None and inputs[2].factor.key == "electricity-grid-cn"
    assert inputs[0].recycledContent is not None and inputs[0].recycledContent.share == "0.25"


def test_realistic_footprints_parse() -> None:
    batch = parse_entry(li2co3_batch())
    assert isinstance(batch, Footprint)
    assert batch.composition.batchId == "2025-03-B017"
    tray = parse_entry(aluminium_tray())
    assert isinstance(tray, Footprint)
    assert tray.footprint.pcf.declaredUnitOfMeasurement == "piece"


def test_signer_roles_and_registration() -> None:
    assert Footprint.signer_roles == frozenset({"supplier"})
    assert FootprintDeprecate.signer_roles == frozenset({"supplier"})
    assert set(ledger.entries.base.ENTRY_TYPES) >= ledger.entries.carbon.CARBON_TYPES


def test_pact_model_usable_alone_and_allows_deprecated() -> None:
    body = example()["footprint"]
    body["status"] = "Deprecated"
    assert ProductFootprint.model_validate(body).status == "Deprecated"


def test_entries_are_frozen() -> None:
    entry = parse_entry(example())
    with pytest.raises(ValueError, match="frozen"):
        entry.org = RECYCLER


# -- envelope and ledger rules --


def test_footprint_entry_must_be_active() -> None:
    rejects(changed(example(), "footprint.status", "Deprecated"), "footprint.status")


def test_unknown_status_rejected() -> None:
    rejects(changed(example(), "footprint.status", "active"), "footprint.status")


def test_unknown_member_rejected() -> None:
    rejects(changed(example(), "footprint.pcf.version", 1), "footprint.pcf.version")


def test_missing_envelope_org_rejected() -> None:
    rejects(changed(example(), "org", ...), "org")


# -- composition --


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("composition.inputs.0.amount", "0", "composition.inputs[0].amount"),
        ("composition.inputs.0.amount", "2.10e0", "composition.inputs[0].amount"),
        ("composition.inputs.0.amount", 2.1, "composition.inputs[0].amount"),
        ("composition.inputs.0.unit", "kg", "composition.inputs[0].unit"),
        ("composition.inputs.0.companyId", ..., "composition.inputs[0].companyId"),
        ("composition.inputs.0.productId", ..., "composition.inputs[0].productId"),
        ("composition.inputs.1.footprintId", ..., "composition.inputs[1].footprintId"),
        (
            "composition.inputs.1.footprintId",
            "4C9A1E77-2D3B-4F0A-8E6C-1B2D3E4F5A6B",
            "composition.inputs[1].footprintId",
        ),
        ("composition.inputs.2.factor.key", "Electricity", "composition.inputs[2].factor.key"),
        (
            "composition.inputs.0.recycledContent.share",
            "25",
            "composition.inputs[0].recycledContent.share",
        ),
        (
            "composition.inputs.0.recycledContent.recyclingBurdenKgCO2ePerUnit",
            "-1",
            "composition.inputs[0].recycledContent.recyclingBurdenKgCO2ePerUnit",
        ),
        ("composition.ownEmissions.0.stage", "smelting", "composition.ownEmissions[0].stage"),
        ("composition.ownEmissions.0.scope", 1, "composition.ownEmissions[0].scope"),
        ("composition.ownEmissions.1.scope", "1", "composition.ownEmissions[1]"),
        ("composition.ownEmissions.0.kgCO2e", "0.9.1", "composition.ownEmissions[0].kgCO2e"),
    ],
)
def test_composition_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(example(), path, value), field)


def test_input_with_two_sources_rejected_at_the_second() -> None:
    both = changed(
        example(),
        "composition.inputs.1.factor",
        {"setId": "cn-default", "version": "2024.1", "key": "diesel-combustion"},
    )
    err = rejects(both, "composition.inputs[1].factor")
    assert "footprintId" in err.reason


def test_input_footprint_and_product_rejected() -> None:
    bad = changed(example(), "composition.inputs.1.productId", "urn:pact:x.example:product:1")
    bad = changed(bad, "composition.inputs.1.companyId", CATHODE_CO)
    rejects(bad, "composition.inputs[1].productId")


def test_empty_composition_rejected() -> None:
    bad = changed(changed(example(), "composition.ownEmissions", []), "composition.inputs", [])
    rejects(bad, "composition.ownEmissions")


def test_own_emissions_without_inputs_is_fine() -> None:
    entry = parse_entry(changed(example(), "composition.inputs", []))
    assert isinstance(entry, Footprint) and len(entry.composition.ownEmissions) == 2


def test_duplicate_activity_batch_rejected() -> None:
    entry = li2co3_batch()
    batches = entry["composition"]["ownEmissions"][0]["activityBatches"]
    batches.append(batches[0])
    rejects(entry, "composition.ownEmissions[0].activityBatches[1]")


def test_activity_batch_must_be_entry_id() -> None:
    bad = changed(li2co3_batch(), "composition.ownEmissions.0.activityBatches.0", "batch-17")
    rejects(bad, "composition.ownEmissions[0].activityBatches[0]")


def test_input_cannot_be_the_footprint_itself() -> None:
    entry = example()
    entry["composition"]["inputs"][1]["footprintId"] = entry["footprint"]["id"]
    rejects(entry, "composition.inputs[1].footprintId")


def test_input_cannot_be_a_preceding_version() -> None:
    entry = li2co3_batch()
    entry["composition"]["inputs"][1]["footprintId"] = entry["footprint"]["precedingPfIds"][0]
    rejects(entry, "composition.inputs[1].footprintId")


def test_input_cannot_be_the_declared_product() -> None:
    entry = example()
    entry["composition"]["inputs"][0]["productId"] = entry["footprint"]["productIds"][0]
    entry["composition"]["inputs"][0]["companyId"] = entry["org"]
    rejects(entry, "composition.inputs[0].productId")


def test_batch_id_format() -> None:
    rejects(changed(li2co3_batch(), "composition.batchId", "batch 17"), "composition.batchId")
