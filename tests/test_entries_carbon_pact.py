"""PACT v3.0 ProductFootprint / CarbonFootprint rules, through ``parse_entry``."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.entries import parse_entry
from ledger.entries.carbon import Footprint
from tests.test_entries_carbon import aluminium_tray, changed, example, li2co3_batch, rejects

PCF = "footprint.pcf"


@pytest.mark.parametrize(
    "member",
    [
        "id",
        "specVersion",
        "created",
        "status",
        "companyName",
        "companyIds",
        "productDescription",
        "productIds",
        "productNameCompany",
        "pcf",
    ],
)
def test_product_footprint_required_members(member: str) -> None:
    rejects(changed(example(), f"footprint.{member}", ...), f"footprint.{member}")


@pytest.mark.parametrize(
    "member",
    [
        "declaredUnitOfMeasurement",
        "declaredUnitAmount",
        "productMassPerDeclaredUnit",
        "referencePeriodStart",
        "referencePeriodEnd",
        "pcfExcludingBiogenicUptake",
        "pcfIncludingBiogenicUptake",
        "fossilGhgEmissions",
        "fossilCarbonContent",
        "ipccCharacterizationFactors",
        "crossSectoralStandards",
        "exemptedEmissionsPercent",
    ],
)
def test_carbon_footprint_required_members(member: str) -> None:
    rejects(changed(example(), f"{PCF}.{member}", ...), f"{PCF}.{member}")


@pytest.mark.parametrize(
    "member",
    ["primaryDataShare", "dqi", "boundaryProcessesDescription", "biogenicCarbonContent"],
)
def test_optional_members_may_be_absent(member: str) -> None:
    assert isinstance(parse_entry(changed(example(), f"{PCF}.{member}", ...)), Footprint)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("footprint.id", "not-a-uuid", "footprint.id"),
        ("footprint.specVersion", "2.3.0", "footprint.specVersion"),
        ("footprint.specVersion", "3.0", "footprint.specVersion"),
        ("footprint.created", "2025-03-01", "footprint.created"),
        ("footprint.created", "2025-03-01T00:00:00", "footprint.created"),
        ("footprint.created", "2025-02-30T00:00:00Z", "footprint.created"),
        ("footprint.companyName", "", "footprint.companyName"),
        ("footprint.companyIds", [], "footprint.companyIds"),
        ("footprint.companyIds.0", "example-cell-co", "footprint.companyIds[0]"),
        ("footprint.productIds.0", "lfp-280ah", "footprint.productIds[0]"),
        ("footprint.productClassifications", [], "footprint.productClassifications"),
        ("footprint.precedingPfIds", [], "footprint.precedingPfIds"),
        (f"{PCF}.declaredUnitOfMeasurement", "kWh", f"{PCF}.declaredUnitOfMeasurement"),
        (f"{PCF}.declaredUnitAmount", "0", f"{PCF}.declaredUnitAmount"),
        (f"{PCF}.declaredUnitAmount", "-1", f"{PCF}.declaredUnitAmount"),
        (f"{PCF}.declaredUnitAmount", "01", f"{PCF}.declaredUnitAmount"),
        (f"{PCF}.declaredUnitAmount", "+1", f"{PCF}.declaredUnitAmount"),
        (f"{PCF}.declaredUnitAmount", 1, f"{PCF}.declaredUnitAmount"),
        (f"{PCF}.productMassPerDeclaredUnit", "-5.5", f"{PCF}.productMassPerDeclaredUnit"),
        (f"{PCF}.fossilGhgEmissions", "-1", f"{PCF}.fossilGhgEmissions"),
        (f"{PCF}.fossilCarbonContent", "-0.1", f"{PCF}.fossilCarbonContent"),
        (f"{PCF}.biogenicCO2Uptake", "0.5", f"{PCF}.biogenicCO2Uptake"),
        (
            f"{PCF}.landManagementBiogenicCO2Removals",
            "1",
            f"{PCF}.landManagementBiogenicCO2Removals",
        ),
        (f"{PCF}.ccsTechnologicalCO2Capture", "2", f"{PCF}.ccsTechnologicalCO2Capture"),
        (f"{PCF}.geographyCountry", "CHN", f"{PCF}.geographyCountry"),
        (f"{PCF}.geographyCountry", "cn", f"{PCF}.geographyCountry"),
        (f"{PCF}.ipccCharacterizationFactors", [], f"{PCF}.ipccCharacterizationFactors"),
        (f"{PCF}.ipccCharacterizationFactors.0", "AR6.1", f"{PCF}.ipccCharacterizationFactors[0]"),
        (
            f"{PCF}.ipccCharacterizationFactors",
            ["AR6", "AR6"],
            f"{PCF}.ipccCharacterizationFactors[1]",
        ),
        (f"{PCF}.crossSectoralStandards.0", "ISO 14067", f"{PCF}.crossSectoralStandards[0]"),
        (
            f"{PCF}.crossSectoralStandards",
            ["PACT-3.0", "PACT-3.0"],
            f"{PCF}.crossSectoralStandards[1]",
        ),
        (f"{PCF}.exemptedEmissionsPercent", "100.5", f"{PCF}.exemptedEmissionsPercent"),
        (f"{PCF}.primaryDataShare", "0.625e2", f"{PCF}.primaryDataShare"),
        (f"{PCF}.primaryDataShare", "101", f"{PCF}.primaryDataShare"),
        (f"{PCF}.dqi.technologicalDQR", "0.9", f"{PCF}.dqi.technologicalDQR"),
        (f"{PCF}.dqi.temporalDQR", "5.1", f"{PCF}.dqi.temporalDQR"),
        (f"{PCF}.dqi.geographicalDQR", ..., f"{PCF}.dqi.geographicalDQR"),
        (f"{PCF}.packagingEmissionsIncluded", "true", f"{PCF}.packagingEmissionsIncluded"),
        (f"{PCF}.ccuCalculationApproach", "credit", f"{PCF}.ccuCalculationApproach"),
        (f"{PCF}.verification", {"coverage": "PCF"}, f"{PCF}.verification.coverage"),
    ],
)
def test_member_types_and_ranges(path: str, value: Any, field: str) -> None:
    rejects(changed(example(), path, value), field)


def test_boundary_values_accepted() -> None:
    entry = example()
    pcf = entry["footprint"]["pcf"]
    pcf.update(primaryDataShare="100", exemptedEmissionsPercent="0.0")
    pcf["dqi"] = {"technologicalDQR": "5", "geographicalDQR": "1", "temporalDQR": "5.0"}
    pcf["declaredUnitAmount"] = "0.5"
    parsed = parse_entry(entry)
    assert isinstance(parsed, Footprint)
    assert parsed.footprint.pcf.primaryDataShare == "100"


# -- cross-field rules --


def test_reference_period_end_after_start() -> None:
    bad = changed(example(), f"{PCF}.referencePeriodEnd", "2024-01-01T00:00:00Z")
    err = rejects(bad, f"{PCF}.referencePeriodEnd")
    assert "after referencePeriodStart" in err.reason


def test_reference_period_compares_instants_across_offsets() -> None:
    # 2024-01-01T07:00:00+08:00 is 2023-12-31T23:00:00Z, before the start.
    bad = changed(example(), f"{PCF}.referencePeriodEnd", "2024-01-01T07:00:00+08:00")
    rejects(bad, f"{PCF}.referencePeriodEnd")


def test_reference_period_must_exist_in_utc() -> None:
    # Year 9999 itself is a valid end; an offset that carries it past 9999 in UTC is not.
    parse_entry(changed(example(), f"{PCF}.referencePeriodEnd", "9999-12-31T23:59:59Z"))
    bad = changed(example(), f"{PCF}.referencePeriodEnd", "9999-12-31T23:59:59-01:00")
    err = rejects(bad, f"{PCF}.referencePeriodEnd")
    assert "outside years 1-9999 in UTC" in err.reason


def test_validity_period_may_run_to_the_end_of_the_calendar() -> None:
    # referencePeriodEnd + 3 years is past year 9999: every end the calendar holds is within.
    entry = changed(example(), f"{PCF}.referencePeriodEnd", "9998-06-01T00:00:00Z")
    entry = changed(entry, f"{PCF}.referencePeriodStart", "9998-01-01T00:00:00Z")
    entry = changed(entry, "footprint.validityPeriodStart", "9998-07-01T00:00:00Z")
    parse_entry(changed(entry, "footprint.validityPeriodEnd", "9999-12-31T23:59:59Z"))


def test_only_one_geography_granularity() -> None:
    rejects(
        changed(example(), f"{PCF}.geographyCountrySubdivision", "CN-JX"),
        f"{PCF}.geographyCountrySubdivision",
    )
    rejects(
        changed(example(), f"{PCF}.geographyRegionOrSubregion", "Eastern Asia"),
        f"{PCF}.geographyCountry",
    )


def test_no_geography_means_global() -> None:
    assert isinstance(parse_entry(changed(example(), f"{PCF}.geographyCountry", ...)), Footprint)


def test_including_uptake_equals_excluding_plus_uptake() -> None:
    entry = changed(example(), f"{PCF}.biogenicCO2Uptake", "-0.4")
    rejects(entry, f"{PCF}.pcfIncludingBiogenicUptake")
    entry = changed(entry, f"{PCF}.pcfIncludingBiogenicUptake", "71.0")
    assert isinstance(parse_entry(entry), Footprint)


def test_including_uptake_never_above_excluding() -> None:
    bad = changed(example(), f"{PCF}.pcfIncludingBiogenicUptake", "71.5")
    rejects(bad, f"{PCF}.pcfIncludingBiogenicUptake")


def test_land_management_fossil_is_part_of_fossil() -> None:
    bad = changed(example(), f"{PCF}.landManagementFossilGhgEmissions", "80")
    rejects(bad, f"{PCF}.landManagementFossilGhgEmissions")


def test_packaging_emissions_need_the_flag() -> None:
    bad = changed(li2co3_batch(), f"{PCF}.packagingEmissionsIncluded", False)
    rejects(bad, f"{PCF}.packagingGhgEmissions")
    rejects(
        changed(example(), f"{PCF}.packagingGhgEmissions", "0.1"), f"{PCF}.packagingGhgEmissions"
    )


def test_ccs_values_need_the_flag() -> None:
    bad = changed(example(), f"{PCF}.ccsTechnologicalCO2Capture", "-0.2")
    rejects(bad, f"{PCF}.ccsTechnologicalCO2Capture")
    good = changed(bad, f"{PCF}.ccsTechnologicalCO2CaptureIncluded", True)
    assert isinstance(parse_entry(good), Footprint)
    origin = changed(example(), f"{PCF}.ccsTechnologicalCO2CaptureIncluded", False)
    origin = changed(origin, f"{PCF}.technologicalCO2CaptureOrigin", "plant X")
    rejects(origin, f"{PCF}.technologicalCO2CaptureOrigin")


def test_ccu_certification_only_for_credit_approach() -> None:
    entry = changed(example(), f"{PCF}.ccuCreditCertification", "https://registry.example/c/1")
    entry = changed(entry, f"{PCF}.ccuCalculationApproach", "Cut-off")
    rejects(entry, f"{PCF}.ccuCreditCertification")
    entry = changed(entry, f"{PCF}.ccuCalculationApproach", "Credit")
    assert isinstance(parse_entry(entry), Footprint)


def test_kilogram_declared_unit_mass_is_the_amount() -> None:
    bad = changed(li2co3_batch(), f"{PCF}.productMassPerDeclaredUnit", "1.2")
    rejects(bad, f"{PCF}.productMassPerDeclaredUnit")


def test_other_operator_needs_a_name() -> None:
    path = f"{PCF}.productOrSectorSpecificRules.0.otherOperatorName"
    rejects(
        changed(li2co3_batch(), path, ...),
        f"{PCF}.productOrSectorSpecificRules[0].otherOperatorName",
    )


def test_preceding_ids_unique_and_not_self() -> None:
    entry = li2co3_batch()
    own = entry["footprint"]["id"]
    rejects(changed(entry, "footprint.precedingPfIds", [own]), "footprint.precedingPfIds[0]")
    twice = entry["footprint"]["precedingPfIds"] * 2
    rejects(changed(entry, "footprint.precedingPfIds", twice), "footprint.precedingPfIds[1]")


def test_company_ids_unique() -> None:
    entry = example()
    ids = entry["footprint"]["companyIds"] * 2
    rejects(changed(entry, "footprint.companyIds", ids), "footprint.companyIds[1]")


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2025-03-31T00:00:00+08:00", "2026-04-01T00:00:00+08:00", "footprint.validityPeriodStart"),
        ("2025-04-01T00:00:00+08:00", "2025-04-01T00:00:00+08:00", "footprint.validityPeriodEnd"),
        ("2025-04-01T00:00:00+08:00", "2028-04-01T00:00:01+08:00", "footprint.validityPeriodEnd"),
        (..., "2026-04-01T00:00:00+08:00", "footprint.validityPeriodStart"),
        ("2025-04-01T00:00:00+08:00", ..., "footprint.validityPeriodEnd"),
    ],
)
def test_validity_period_rules(start: Any, end: Any, field: str) -> None:
    entry = changed(li2co3_batch(), "footprint.validityPeriodStart", start)
    rejects(changed(entry, "footprint.validityPeriodEnd", end), field)


def test_validity_period_may_last_exactly_three_years() -> None:
    entry = changed(li2co3_batch(), "footprint.validityPeriodEnd", "2028-04-01T00:00:00+08:00")
    assert isinstance(parse_entry(entry), Footprint)


def test_piece_declared_unit_without_mass_rule() -> None:
    tray = aluminium_tray()
    parsed = parse_entry(tray)
    assert isinstance(parsed, Footprint)
    assert parsed.footprint.pcf.productMassPerDeclaredUnit == "18.5"
