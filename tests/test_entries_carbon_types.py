"""factors.publish, instrument.retire, attestation, grant, activity.batch, key.add,
target and inventory entries (figures from FIGURES.md)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.entries import parse_entry
from ledger.entries.base import ENTRY_TYPES
from ledger.entries.carbon import (
    ActivityBatch,
    Attestation,
    FactorsPublish,
    Grant,
    InstrumentRetire,
    Inventory,
    KeyAdd,
    RetiredRange,
    Target,
    load_default_factors,
    serial_ranges_overlap,
)
from ledger.entries.carbon.instruments import split_serial
from tests.test_entries_carbon import RECYCLER, changed, rejects

OPERATOR = "urn:carbonledger:org:operator"
BUYER = "urn:pact:company:customcode:example-carmaker"
VERIFIER = "urn:pact:company:customcode:example-certifier"
PUBKEY = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo="  # 43 chars + "="


def factors_entry() -> dict[str, Any]:
    return {
        "type": "factors.publish",
        "entryId": "0c8e2a46-6b1d-4f3e-9a57-d2f4b6a8c0e1",
        "org": OPERATOR,
        **load_default_factors(),
    }


def ccer() -> dict[str, Any]:
    return {
        "type": "instrument.retire",
        "entryId": "1e3a5c7b-9d0f-4b2a-8c46-e8f0a2b4c6d8",
        "org": RECYCLER,
        "registry": "cn-ccer",
        "accountId": "CN-CCER-0042",
        "kind": "CCER",
        "serials": {"first": "CCER-2024-000001", "last": "CCER-2024-000500"},
        "quantity": "500",
        "unit": "tCO2e",
        "vintage": 2024,
        "beneficiary": {
            "org": RECYCLER,
            "reportingPeriod": {
                "start": "2024-01-01T00:00:00+08:00",
                "end": "2025-01-01T00:00:00+08:00",
            },
        },
        "creditType": "avoidance",
    }


def gec() -> dict[str, Any]:
    return {
        "type": "instrument.retire",
        "entryId": "3b5d7f91-2a4c-4e6b-8d0f-a1c3e5b7d9f2",
        "org": RECYCLER,
        "registry": "cn-gec",
        "accountId": "recycler/green-1",
        "kind": "GEC",
        "serials": {"first": "GEC202400000001", "last": "GEC202400001575"},
        "quantity": "1575",
        "unit": "MWh",
        "vintage": 2024,
        "beneficiary": {
            "org": RECYCLER,
            "footprintIds": ["a3c1e5d7-9b2f-4e60-8a14-c6d8e0f2a4b6"],
        },
    }


def attestation() -> dict[str, Any]:
    return {
        "type": "attestation",
        "entryId": "5f7b9d13-4c6e-4a8b-9f10-b2d4f6a8c0e3",
        "org": VERIFIER,
        "footprintLeafHash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "footprintEntryId": "2f6d8a10-5c3e-4b7a-9d21-7e4f0a6b3c58",
        "standard": "ISO14067",
        "assuranceLevel": "limited",
        "boundary": "cradle-to-gate",
        "validFrom": "2025-04-20T00:00:00Z",
        "validUntil": "2026-04-20T00:00:00Z",
        "certificateId": "CFP-2025-0417",
        "comment": "Three-month verification of the traceability system and accounting model",
    }


def grant() -> dict[str, Any]:
    return {
        "type": "grant",
        "entryId": "7a9c1e35-6d8f-4b0a-a1c2-d3e5f7a9b1c4",
        "org": RECYCLER,
        "grantee": BUYER,
        "productId": "urn:pact:recycler.example.com:supplier-id:li2co3-bg",
        "level": "summary",
        "validFrom": "2025-05-01T00:00:00Z",
        "validUntil": "2026-05-01T00:00:00Z",
    }


def reading(meter: str, stage: str, start: str, end: str, kwh: str) -> dict[str, Any]:
    return {
        "meterId": meter,
        "stage": stage,
        "intervalStart": start,
        "intervalEnd": end,
        "quantity": kwh,
        "unit": "kWh",
        "quality": "measured",
    }


def activity() -> dict[str, Any]:
    return {
        "type": "activity.batch",
        "entryId": "9b1d3f5a-7c9e-4b20-8d46-f8a0c2e4a6b8",
        "org": RECYCLER,
        "site": "Recycling plant, line 2",
        "collectorId": "edge-line2-01",
        "readings": [
            reading(
                "m-pre-01",
                "pretreatment",
                "2025-03-10T08:00:00+08:00",
                "2025-03-10T09:00:00+08:00",
                "412.5",
            ),
            reading(
                "m-pre-01",
                "pretreatment",
                "2025-03-10T09:00:00+08:00",
                "2025-03-10T10:00:00+08:00",
                "398.1",
            ),
            reading(
                "m-dis-01",
                "dismantling",
                "2025-03-10T08:00:00+08:00",
                "2025-03-10T09:00:00+08:00",
                "120",
            ),
            {
                **reading(
                    "m-gas-01",
                    "smelting",
                    "2025-03-10T08:00:00+08:00",
                    "2025-03-10T09:00:00+08:00",
                    "35.2",
                ),
                "unit": "m3",
            },
        ],
    }


def target() -> dict[str, Any]:
    return {
        "type": "target",
        "entryId": "b1d3f5a7-9c0e-4a2b-8d4f-a6c8e0b2d4f6",
        "org": BUYER,
        "supplier": RECYCLER,
        "metric": "absolute-tco2e",
        "scopes": ["1", "2"],
        "baseYear": 2021,
        "baseValue": "12400",
        "targetYear": 2025,
        "targetValue": "6200",
    }


def inventory() -> dict[str, Any]:
    return {
        "type": "inventory",
        "entryId": "d3f5a7b9-1c2e-4a4b-9d6f-c8e0a2b4d6f8",
        "org": RECYCLER,
        "reportingYear": 2024,
        "scope1TCO2e": "1830.4",
        "scope2TCO2e": "5012.7",
        "scope3TCO2e": "61250",
        "electricityMWh": "11553",
        "renewableElectricityMWh": "5107.6",
    }


def test_all_types_registered_with_roles() -> None:
    roles = {name: ENTRY_TYPES[name].signer_roles for name in ENTRY_TYPES}
    assert roles["factors.publish"] == {"operator", "publisher"}
    assert roles["instrument.retire"] == {"supplier", "buyer"}
    assert roles["attestation"] == {"verifier"}
    assert roles["grant"] == roles["grant.revoke"] == {"supplier"}
    assert roles["target"] == {"buyer"}
    assert roles["inventory"] == {"supplier"}
    assert roles["activity.batch"] == roles["key.add"] == frozenset()


# -- factors.publish --


def test_default_factor_set_validates_as_entry() -> None:
    entry = parse_entry(factors_entry())
    assert isinstance(entry, FactorsPublish)
    assert (entry.setId, entry.version) == ("cn-default", "2024.1")
    values = {f.key: (f.value, f.unit, f.basis) for f in entry.factors}
    assert values["electricity-grid-cn"] == ("0.5366", "kilowatt hour", "grid-average")
    assert values["electricity-grid-cn-later-average"][0] == "0.5703"
    assert values["natural-gas-combustion"] == ("2.162", "cubic meter", "combustion")
    assert values["diesel-combustion"] == ("2.845", "liter", "combustion")
    assert values["steam-purchased"] == ("294.8", "tonne", "purchased-heat")
    assert values["rail-freight"][:2] == ("0.062", "ton kilometer")
    assert all(f.source and f.method for f in entry.factors)


def test_default_factor_loader_returns_a_fresh_body() -> None:
    body = load_default_factors()
    body["factors"].clear()
    assert load_default_factors()["factors"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("factors", [], "factors"),
        ("factors.1.key", "electricity-grid-cn", "factors[1].key"),
        ("factors.0.value", 0.5366, "factors[0].value"),
        ("factors.0.value", "0,5366", "factors[0].value"),
        ("factors.0.unit", "kWh", "factors[0].unit"),
        ("factors.0.region", "China", "factors[0].region"),
        ("factors.0.year", "2024", "factors[0].year"),
        ("factors.0.year", 1889, "factors[0].year"),
        ("factors.0.basis", "average", "factors[0].basis"),
        ("factors.0.source", "", "factors[0].source"),
        ("factors.0.method", ..., "factors[0].method"),
        ("setId", "CN Default", "setId"),
        ("version", "", "version"),
    ],
)
def test_factor_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(factors_entry(), path, value), field)


def test_regional_grid_region_with_suffix() -> None:
    entry = parse_entry(changed(factors_entry(), "factors.0.region", "CN:north-china-grid"))
    assert isinstance(entry, FactorsPublish) and entry.factors[0].region == "CN:north-china-grid"


# -- instrument.retire --


def test_retirements_parse() -> None:
    credit = parse_entry(ccer())
    cert = parse_entry(gec())
    assert isinstance(credit, InstrumentRetire) and isinstance(cert, InstrumentRetire)
    assert credit.serials.count() == 500
    assert cert.serials.count() == 1575


@pytest.mark.parametrize(
    ("make", "path", "value", "field"),
    [
        (ccer, "creditType", ..., "creditType"),
        (ccer, "creditType", "offset", "creditType"),
        (gec, "creditType", "removal", "creditType"),
        (ccer, "unit", "MWh", "unit"),
        (gec, "unit", "tCO2e", "unit"),
        (gec, "kind", "green-certificate", "kind"),
        (ccer, "quantity", "499", "quantity"),
        (ccer, "quantity", "500.5", "quantity"),
        (ccer, "quantity", 500, "quantity"),
        (ccer, "serials.last", "CCER-2023-000500", "serials.last"),
        (ccer, "serials.last", "CCER-2024-00500", "serials.last"),
        (ccer, "serials.last", "CCER-2024-000000", "serials.last"),
        (ccer, "serials.first", "CCER-2024-", "serials.first"),
        (ccer, "vintage", "2024", "vintage"),
        (ccer, "registry", "CCER Registry", "registry"),
        (ccer, "accountId", ..., "accountId"),
        (ccer, "accountId", "account 42", "accountId"),
        (ccer, "beneficiary.org", "recycler", "beneficiary.org"),
        (
            ccer,
            "beneficiary.reportingPeriod.end",
            "2024-01-01T00:00:00+08:00",
            "beneficiary.reportingPeriod.end",
        ),
        (gec, "beneficiary.footprintIds", [], "beneficiary.footprintIds"),
    ],
)
def test_retirement_rules(make: Any, path: str, value: Any, field: str) -> None:
    rejects(changed(make(), path, value), field)


def test_credit_kinds_need_credit_type() -> None:
    for kind in ("VCS", "GoldStandard", "forestry"):
        rejects(changed(changed(ccer(), "kind", kind), "creditType", ...), "creditType")
        assert isinstance(parse_entry(changed(ccer(), "kind", kind)), InstrumentRetire)


def test_serial_format() -> None:
    assert split_serial("CCER-2024-000101") == ("CCER-2024-", 101, 6)
    assert split_serial("GEC202400000001") == ("GEC", 202400000001, 12)
    assert split_serial("000042") == ("", 42, 6)


def test_overlap_check() -> None:
    a = RetiredRange("cn-ccer", "CCER-2024-000001", "CCER-2024-000500")
    assert serial_ranges_overlap(a, RetiredRange("cn-ccer", "CCER-2024-000500", "CCER-2024-000600"))
    assert serial_ranges_overlap(a, RetiredRange("cn-ccer", "CCER-2024-000100", "CCER-2024-000100"))
    assert serial_ranges_overlap(RetiredRange("cn-ccer", "CCER-2024-000100", "CCER-2024-000100"), a)
    assert not serial_ranges_overlap(
        a, RetiredRange("cn-ccer", "CCER-2024-000501", "CCER-2024-000900")
    )
    assert not serial_ranges_overlap(
        a, RetiredRange("verra", "CCER-2024-000001", "CCER-2024-000500")
    )
    assert not serial_ranges_overlap(
        a, RetiredRange("cn-ccer", "CCER-2023-000001", "CCER-2023-000500")
    )
    assert not serial_ranges_overlap(
        a, RetiredRange("cn-ccer", "CCER-2024-00001", "CCER-2024-00500")
    )


def test_overlap_of_parsed_retirements() -> None:
    first = parse_entry(ccer())
    again = parse_entry(
        changed(changed(ccer(), "serials.first", "CCER-2024-000400"), "quantity", "101")
    )
    assert isinstance(first, InstrumentRetire) and isinstance(again, InstrumentRetire)
    assert serial_ranges_overlap(first.retired_range(), again.retired_range())


# -- attestation --


def test_attestation_parses_with_either_reference() -> None:
    assert isinstance(parse_entry(attestation()), Attestation)
    assert isinstance(parse_entry(changed(attestation(), "footprintLeafHash", ...)), Attestation)
    assert isinstance(parse_entry(changed(attestation(), "footprintEntryId", ...)), Attestation)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (
            "footprintLeafHash",
            "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
            "footprintLeafHash",
        ),
        ("footprintLeafHash", "9f86d081", "footprintLeafHash"),
        ("standard", "ISO 14067", "standard"),
        ("assuranceLevel", "high", "assuranceLevel"),
        ("boundary", "cradle to gate", "boundary"),
        ("validUntil", "2025-04-20T00:00:00Z", "validUntil"),
        ("validFrom", "20 April 2025", "validFrom"),
        ("certificateId", "", "certificateId"),
    ],
)
def test_attestation_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(attestation(), path, value), field)


def test_attestation_needs_a_footprint_reference() -> None:
    bad = changed(changed(attestation(), "footprintLeafHash", ...), "footprintEntryId", ...)
    rejects(bad, "footprintEntryId")


# -- grant and grant.revoke --


def test_grant_and_revoke_parse() -> None:
    parsed = parse_entry(grant())
    assert isinstance(parsed, Grant) and parsed.level == "summary"
    one = changed(
        changed(grant(), "productId", ...), "footprintId", "a3c1e5d7-9b2f-4e60-8a14-c6d8e0f2a4b6"
    )
    assert isinstance(parse_entry(changed(one, "validUntil", ...)), Grant)
    revoke = {
        "type": "grant.revoke",
        "entryId": "e5a7b9c1-3d4f-4a6b-8c8d-e0f2a4b6c8d0",
        "org": RECYCLER,
        "grantId": grant()["entryId"],
        "reason": "Contract ended",
    }
    assert parse_entry(revoke).type == "grant.revoke"
    rejects(changed(revoke, "grantId", "grant-1"), "grantId")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("productId", ..., "footprintId"),
        ("footprintId", "a3c1e5d7-9b2f-4e60-8a14-c6d8e0f2a4b6", "productId"),
        ("level", "full", "level"),
        ("level", ..., "level"),
        ("inventory", True, "inventory"),
        ("inventory", False, "inventory"),
        ("grantee", RECYCLER, "grantee"),
        ("validUntil", "2025-04-30T00:00:00Z", "validUntil"),
    ],
)
def test_grant_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(grant(), path, value), field)


def test_an_inventory_grant_names_no_footprint_and_no_level() -> None:
    inventory = changed(
        changed(changed(grant(), "productId", ...), "level", ...), "inventory", True
    )
    parsed = parse_entry(inventory)
    assert isinstance(parsed, Grant) and parsed.inventory is True and parsed.level is None
    rejects(changed(inventory, "level", "summary"), "level")
    rejects(changed(inventory, "footprintId", "a3c1e5d7-9b2f-4e60-8a14-c6d8e0f2a4b6"), "inventory")


# -- activity.batch and key.add --


def test_activity_batch_parses() -> None:
    parsed = parse_entry(activity())
    assert isinstance(parsed, ActivityBatch)
    assert [r["stage"] for r in parsed.readings][:3] == [
        "pretreatment",
        "pretreatment",
        "dismantling",
    ]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("readings", [], "readings"),
        ("readings.0.intervalEnd", "2025-03-10T08:00:00+08:00", "readings[0].intervalEnd"),
        ("readings.0.unit", "MWh", "readings[0].unit"),
        ("readings.0.quality", "guessed", "readings[0].quality"),
        ("readings.0.stage", "assembly", "readings[0].stage"),
        ("readings.0.quantity", "-3", "readings[0].quantity"),
        ("readings.1.intervalStart", "2025-03-10T08:30:00+08:00", "readings[1].intervalStart"),
        ("readings.2.intervalStart", "2025-03-10 08:00:00+08:00", "readings[2].intervalStart"),
        ("collectorId", "", "collectorId"),
    ],
)
def test_activity_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(activity(), path, value), field)


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        # The shape passes pydantic-core; the calendar is checked in the batch's pass.
        (
            "readings.2.intervalEnd",
            "2025-02-30T09:00:00+08:00",
            "readings[2].intervalEnd",
            "not a valid RFC 3339",
        ),
        (
            "readings.3.intervalStart",
            "2025-03-10T24:00:00+08:00",
            "readings[3].intervalStart",
            "not a valid RFC 3339",
        ),
        (
            "readings.2.intervalEnd",
            "9999-12-31T23:59:59-00:30",
            "readings[2].intervalEnd",
            "outside years 1-9999 in UTC",
        ),
        (
            "readings.0.intervalStart",
            "0001-01-01T00:00:00+01:00",
            "readings[0].intervalStart",
            "outside years 1-9999 in UTC",
        ),
        (
            "readings.2.intervalEnd",
            "2025-03-10T00:00:00Z",
            "readings[2].intervalEnd",
            "must be after intervalStart",
        ),
        # Same instant written with another offset: still an overlap of meter m-pre-01.
        (
            "readings.1.intervalStart",
            "2025-03-10T00:59:59Z",
            "readings[1].intervalStart",
            "overlaps another reading of meter m-pre-01",
        ),
    ],
)
def test_activity_interval_rules_name_the_reading(
    path: str, value: str, field: str, message: str
) -> None:
    assert message in rejects(changed(activity(), path, value), field).reason


def test_activity_overlap_names_the_later_interval_wherever_it_is_listed() -> None:
    entry = activity()
    entry["readings"].reverse()  # [2]: m-pre-01 09:00-10:00, [3]: m-pre-01 08:00-09:00
    assert isinstance(parse_entry(entry), ActivityBatch)
    entry["readings"][3]["intervalEnd"] = "2025-03-10T09:00:01+08:00"
    error = rejects(entry, "readings[2].intervalStart")
    assert "meter m-pre-01" in error.reason


def test_activity_batch_size_limit() -> None:
    one = activity()["readings"][2]
    assert isinstance(parse_entry(changed(activity(), "readings", [one])), ActivityBatch)
    rejects(changed(activity(), "readings", [one] * 10001), "readings")


def test_key_add() -> None:
    entry = {
        "type": "key.add",
        "entryId": "f7b9c1d3-5e6a-4b8c-9d0e-f2a4b6c8d0e2",
        "org": RECYCLER,
        "orgId": RECYCLER,
        "publicKey": PUBKEY,
        "purpose": "collector",
    }
    assert isinstance(parse_entry(entry), KeyAdd)
    rejects(changed(entry, "orgId", BUYER), "orgId")
    rejects(changed(entry, "purpose", "signing"), "purpose")
    rejects(changed(entry, "publicKey", "abc"), "publicKey")


# -- target and inventory --


def test_targets_parse() -> None:
    assert isinstance(parse_entry(target()), Target)
    share = changed(changed(target(), "metric", "renewable-electricity-share"), "baseValue", "8")
    share = changed(changed(share, "targetValue", "100"), "scopes", ["2"])
    assert isinstance(parse_entry(share), Target)
    intensity = changed(target(), "metric", "intensity")
    intensity = changed(intensity, "intensityUnit", "tCO2e per million CNY revenue")
    assert isinstance(parse_entry(intensity), Target)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("targetYear", 2021, "targetYear"),
        ("targetYear", 2020, "targetYear"),
        ("scopes", [], "scopes"),
        ("scopes", ["1", "1"], "scopes[1]"),
        ("scopes", ["4"], "scopes[0]"),
        ("metric", "relative", "metric"),
        ("intensityUnit", "tCO2e/unit", "intensityUnit"),
        ("supplier", BUYER, "supplier"),
        ("baseValue", "-1", "baseValue"),
    ],
)
def test_target_rules(path: str, value: Any, field: str) -> None:
    rejects(changed(target(), path, value), field)


def test_intensity_target_needs_unit_and_share_is_percent() -> None:
    rejects(changed(target(), "metric", "intensity"), "intensityUnit")
    share = changed(target(), "metric", "renewable-electricity-share")
    rejects(share, "baseValue")  # 12400 is not a percentage
    rejects(changed(changed(share, "baseValue", "8"), "targetValue", "101"), "targetValue")


def test_inventory() -> None:
    parsed = parse_entry(inventory())
    assert isinstance(parsed, Inventory) and parsed.scope3TCO2e == "61250"
    assert isinstance(parse_entry(changed(inventory(), "scope3TCO2e", ...)), Inventory)


def test_inventory_flags_certificates_above_consumption() -> None:
    # FIGURES.md: green certificates of 5,700 MWh against 1,575 MWh of electricity.
    bad = changed(changed(inventory(), "electricityMWh", "1575"), "renewableElectricityMWh", "5700")
    err = rejects(bad, "renewableElectricityMWh")
    assert "electricityMWh" in err.reason
    rejects(changed(inventory(), "reportingYear", 24), "reportingYear")
    rejects(changed(inventory(), "scope1TCO2e", ...), "scope1TCO2e")
