"""A PACT v3.0 ProductFootprint as the Catena-X PCF aspect, version 9.0.0
(``urn:samm:io.catenax.pcf:9.0.0#Pcf``).

Every PACT member with a counterpart is mapped; docs/gateway.md has the table, with the
PACT members that have none and the Catena-X members PACT cannot fill. The PACT
footprint is cradle to gate, so the scope is ``Cradle-to-gate`` and the distribution
stage is not included. Values outside the Catena-X model's ranges (a negative PCF
excluding biogenic uptake, exempted emissions above 10 %, the declared unit ``megabit
second``, a country outside UN M49) make the footprint :class:`NotExportable`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_args

from gateway.exports import NotExportable
from gateway.exports.m49 import SUBREGION_OF
from gateway.quantities import number
from ledger.entries.carbon.common import instant
from ledger.entries.carbon.pact import DEFAULT_VALIDITY_YEARS, DeclaredUnit, plus_years

SPEC_VERSION = "urn:io.catenax.pcf:datamodel:version:9.0.0"
# PACT v3 has no dataset version (a change is a new footprint id); served as the PACT
# v2.3 view serves it (gateway.pact_v2).
VERSION = 1
DQRS = ("technologicalDQR", "temporalDQR", "geographicalDQR")
IPCC_FACTORS = frozenset({"AR4", "AR5", "AR6"})
MAX_EXEMPTED_PERCENT = Decimal(10)
# The PACT declared units the Catena-X enumeration also has (it splits "megabit second").
UNITS = frozenset(get_args(DeclaredUnit)) - {"megabit second"}


def _copy(pcf: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """PACT decimal members given in ``pcf`` as Catena-X numbers, renamed."""
    return {cx: number(pcf[pact]) for pact, cx in names.items() if pcf.get(pact) is not None}


def _product(doc: dict[str, Any]) -> dict[str, Any]:
    pcf = doc["pcf"]
    unit = pcf["declaredUnitOfMeasurement"]
    if unit not in UNITS:
        raise NotExportable(f"the Catena-X PCF has no declared unit {unit!r}")
    product: dict[str, Any] = {
        "productNameCompany": doc["productNameCompany"],
        "productIds": doc["productIds"],
        "declaredUnitOfMeasurement": unit,
        "declaredUnitAmount": number(pcf["declaredUnitAmount"]),
        "productMassPerDeclaredUnit": number(pcf["productMassPerDeclaredUnit"]),
        "productDescription": doc["productDescription"],
    }
    if doc.get("productClassifications"):
        product["productClassifications"] = doc["productClassifications"]
    return {
        "companyInformation": [
            {"companyName": doc["companyName"], "companyIds": doc["companyIds"]}
        ],
        "productInformation": [product],
    }


def _geography(pcf: dict[str, Any]) -> dict[str, Any]:
    """PACT states at most one granularity (none: global); Catena-X always a region."""
    if pcf.get("geographyRegionOrSubregion") is not None:
        return {"geographyRegionOrSubregion": pcf["geographyRegionOrSubregion"]}
    subdivision = pcf.get("geographyCountrySubdivision")
    country = pcf.get("geographyCountry") or (subdivision[:2] if subdivision else None)
    if country is None:
        return {"geographyRegionOrSubregion": "Global"}
    if country not in SUBREGION_OF:
        raise NotExportable(f"geography: {country!r} is not a country of a UN M49 sub-region")
    out = {"geographyRegionOrSubregion": SUBREGION_OF[country], "geographyCountry": country}
    if subdivision:
        out["geographyCountrySubdivision"] = subdivision
    return out


def _time(doc: dict[str, Any]) -> dict[str, Any]:
    """The validity period, PACT's default (three years after the reference period)
    spelled out when the footprint gives none."""
    pcf = doc["pcf"]
    start, end = doc.get("validityPeriodStart"), doc.get("validityPeriodEnd")
    if start is None or end is None:
        start = pcf["referencePeriodEnd"]
        latest = plus_years(instant(start), DEFAULT_VALIDITY_YEARS)
        if latest is None:
            raise NotExportable("the default validity period ends after year 9999")
        end = latest.isoformat()
    return {
        "referencePeriodStart": pcf["referencePeriodStart"],
        "referencePeriodEnd": pcf["referencePeriodEnd"],
        "created": doc["created"],
        "validityPeriodStart": start,
        "validityPeriodEnd": end,
    }


def _id_and_version(doc: dict[str, Any]) -> dict[str, Any]:
    # PACT has no such type: a reference period that ended by the footprint's creation is
    # a retrospective PCF, one still running or to come a PCF for a future production date.
    past = instant(doc["pcf"]["referencePeriodEnd"]) <= instant(doc["created"])
    out: dict[str, Any] = {
        "id": doc["id"],
        "version": VERSION,
        "status": doc["status"],
        "retroOrProspectivePcfType": "Retrospective PCF"
        if past
        else "Prospective PCF for current product for future production date",
    }
    if doc.get("precedingPfIds"):
        out["precedingPfIds"] = [{"id": pf} for pf in doc["precedingPfIds"]]
    return out


def _assessment(doc: dict[str, Any]) -> dict[str, Any]:
    pcf = doc["pcf"]
    exempted = Decimal(pcf["exemptedEmissionsPercent"])
    if exempted > MAX_EXEMPTED_PERCENT:
        raise NotExportable(
            f"the Catena-X PCF allows at most {MAX_EXEMPTED_PERCENT} % exempted emissions, "
            f"not {pcf['exemptedEmissionsPercent']}"
        )
    boundary: dict[str, Any] = {"exemptedEmissionsPercent": number(exempted)}
    if pcf.get("exemptedEmissionsDescription") is not None:
        boundary["exemptedEmissionsDescription"] = pcf["exemptedEmissionsDescription"]
    technology: dict[str, Any] = {
        # PACT leaves CCS values undefined unless it is included: absent means not included.
        "ccsTechnologicalCO2CaptureIncluded": pcf.get("ccsTechnologicalCO2CaptureIncluded") is True
    }
    if pcf.get("boundaryProcessesDescription") is not None:
        technology["boundaryProcessesDescription"] = pcf["boundaryProcessesDescription"]
    quality: dict[str, Any] = _copy(pcf, {"primaryDataShare": "primaryDataShare"})
    quality.update(_copy(pcf.get("dqi") or {}, {k: k for k in DQRS}))
    if pcf.get("secondaryEmissionFactorSources"):
        quality["secondaryEmissionFactorSources"] = list(
            dict.fromkeys(
                f"{s['name']} {s['version']}" for s in pcf["secondaryEmissionFactorSources"]
            )
        )
    return {
        "dataSourcesAndQuality": [quality],
        "pcfAssessmentInformation": [
            {
                "technology": [technology],
                "idAndVersion": [_id_and_version(doc)],
                "boundarySpecifications": [boundary],
                "geography": [_geography(pcf)],
                "time": [_time(doc)],
            }
        ],
        "pcfMethodology": [_methodology(pcf)],
    }


def _methodology(pcf: dict[str, Any]) -> dict[str, Any]:
    rules = [
        f"{rule.get('otherOperatorName') or rule['operator']}: {name}"
        for rule in pcf.get("productOrSectorSpecificRules") or ()
        for name in rule["ruleNames"]
    ]
    factors = dict.fromkeys(
        f if f in IPCC_FACTORS else "unspecified" for f in pcf["ipccCharacterizationFactors"]
    )
    return {
        # Mass balancing and the foreground allocation choices have no PACT counterpart.
        "massBalancingInformation": [],
        "standards": [
            {
                "crossSectoralStandards": pcf["crossSectoralStandards"],
                "productOrSectorSpecificRules": list(dict.fromkeys(rules)),
            }
        ],
        "gwpCharacterizationFactorDetails": [{"ipccCharacterizationFactors": f} for f in factors],
        "allocationInForeground": [],
    }


# Members with the same name and meaning in both models.
PRODUCTION = (
    "pcfIncludingBiogenicUptake",
    "pcfExcludingBiogenicUptake",
    "fossilGhgEmissions",
    "biogenicNonCO2Emissions",
    "biogenicCO2Uptake",
    "landUseChangeGhgEmissions",
    "landManagementBiogenicCO2Emissions",
    "landManagementBiogenicCO2Removals",
    "aircraftGhgEmissions",
)
CARBON_CONTENT = (
    "fossilCarbonContent",
    "biogenicCarbonContent",
    "recycledCarbonContent",
    "packagingBiogenicCarbonContent",
)


def _stages(pcf: dict[str, Any]) -> dict[str, Any]:
    if Decimal(pcf["pcfExcludingBiogenicUptake"]) < 0:
        raise NotExportable(
            "the Catena-X PCF has no negative pcfExcludingBiogenicUptake, not "
            f"{pcf['pcfExcludingBiogenicUptake']}"
        )
    packaging: dict[str, Any] = {
        "packagingEmissionsIncluded": pcf.get("packagingEmissionsIncluded") is True
    }
    packaging.update(_copy(pcf, {"packagingGhgEmissions": "packagingPcfExcludingBiogenicUptake"}))
    return {
        "productionStage": [_copy(pcf, {n: n for n in PRODUCTION})],
        "distributionStage": [{"distributionStageIncluded": False}],
        "packagingStage": [packaging],
    }


def catenax_pcf(doc: dict[str, Any]) -> dict[str, Any]:
    """The Catena-X PCF of a served PACT v3.0 ProductFootprint."""
    pcf = doc["pcf"]
    return {
        "scopeOfPcfForm": [{"specVersion": SPEC_VERSION, "partialFullPcf": "Cradle-to-gate"}],
        "companyAndProductInformation": [_product(doc)],
        "pcfAssessmentAndMethodology": [_assessment(doc)],
        "general": [{"comment": doc["comment"]}] if doc.get("comment") else [],
        "carbonContent": [_copy(pcf, {n: n for n in CARBON_CONTENT})],
        "productLifeCycleStagesAndEmissions": [_stages(pcf)],
    }
