"""PACT v2.3 ProductFootprints derived from the recorded v3.0 ones.

The ledger records v3.0 footprints; ``/2/footprints`` serves the same data in
the v2.3 data model (``spec/v2/openapi.yaml`` of wbcsd/data-exchange-protocol):
renamed members, numbers where v2 has numbers, and the members v2 requires
filled from their v3 counterparts (``docs/gateway.md`` lists the mapping). A
footprint whose declared unit v2.3 cannot express (``piece``, ``hour``,
``megabit second``) is not served over v2.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from gateway.quantities import number
from ledger.entries.carbon.pact import DeclaredUnit

# v2.3 has the v3.0 declared units but the last three.
V2_UNITS = frozenset(get_args(DeclaredUnit)) - {"piece", "hour", "megabit second"}
_STANDARDS = {
    "GHGP-Product": "GHG Protocol Product standard",
    "ISO14067": "ISO Standard 14067",
    "ISO14040-44": "ISO Standard 14044",
}
_COVERAGE = {
    "PCF calculation model": "PCF system",
    "PCF program": "PCF system",
    "product level": "product level",
}

_Dec = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataQualityIndicatorsV2(_M):
    coveragePercent: float | None = None
    technologicalDQR: float | None = None
    temporalDQR: float | None = None
    geographicalDQR: float | None = None
    completenessDQR: float | None = None
    reliabilityDQR: float | None = None


class AssuranceV2(_M):
    assurance: bool
    coverage: Literal["corporate level", "product line", "PCF system", "product level"] | None = (
        None
    )
    level: Literal["limited", "reasonable"] | None = None
    boundary: Literal["Gate-to-Gate", "Cradle-to-Gate"] | None = None
    providerName: str | None = None
    completedAt: str | None = None
    standardName: str | None = None
    comments: str | None = None


class EmissionFactorSourceV2(_M):
    name: str
    version: str


class ProductOrSectorSpecificRuleV2(_M):
    operator: Literal["PEF", "EPD International", "Other"]
    ruleNames: list[str]
    otherOperatorName: str | None = None


class DataModelExtensionV2(_M):
    specVersion: str
    dataSchema: str
    documentation: str | None = None
    data: dict[str, Any]


class CarbonFootprintV2(_M):
    declaredUnit: Literal[
        "liter",
        "kilogram",
        "cubic meter",
        "kilowatt hour",
        "megajoule",
        "ton kilometer",
        "square meter",
    ]
    unitaryProductAmount: _Dec
    productMassPerDeclaredUnit: _Dec | None = None
    pCfExcludingBiogenic: _Dec
    pCfIncludingBiogenic: _Dec | None = None
    fossilGhgEmissions: _Dec
    fossilCarbonContent: _Dec
    biogenicCarbonContent: _Dec
    dLucGhgEmissions: _Dec | None = None
    landManagementGhgEmissions: _Dec | None = None
    otherBiogenicGhgEmissions: _Dec | None = None
    iLucGhgEmissions: _Dec | None = None
    biogenicCarbonWithdrawal: _Dec | None = None
    aircraftGhgEmissions: _Dec | None = None
    characterizationFactors: Literal["AR5", "AR6"]
    ipccCharacterizationFactorsSources: list[str]
    crossSectoralStandardsUsed: list[
        Literal["GHG Protocol Product standard", "ISO Standard 14067", "ISO Standard 14044"]
    ]
    productOrSectorSpecificRules: list[ProductOrSectorSpecificRuleV2] | None = None
    biogenicAccountingMethodology: Literal["PEF", "ISO", "GHPG", "Quantis"] | None = None
    boundaryProcessesDescription: str
    referencePeriodStart: str
    referencePeriodEnd: str
    geographyCountrySubdivision: str | None = None
    geographyCountry: str | None = None
    geographyRegionOrSubregion: str | None = None
    secondaryEmissionFactorSources: list[EmissionFactorSourceV2] | None = None
    exemptedEmissionsPercent: float
    exemptedEmissionsDescription: str
    packagingEmissionsIncluded: bool
    packagingGhgEmissions: _Dec | None = None
    allocationRulesDescription: str | None = None
    uncertaintyAssessmentDescription: str | None = None
    primaryDataShare: float | None = None
    dqi: DataQualityIndicatorsV2 | None = None
    assurance: AssuranceV2 | None = None


class ProductFootprintV2(_M):
    """A PACT v2.3 ProductFootprint."""

    id: str
    specVersion: str
    precedingPfIds: list[str] | None = None
    version: int
    created: str
    updated: str | None = None
    status: Literal["Active", "Deprecated"]
    statusComment: str | None = None
    validityPeriodStart: str | None = None
    validityPeriodEnd: str | None = None
    companyName: str
    companyIds: list[str]
    productDescription: str
    productIds: list[str]
    productClassifications: list[str] | None = None
    productCategoryCpc: str
    productNameCompany: str
    comment: str
    pcf: CarbonFootprintV2
    extensions: list[DataModelExtensionV2] | None = None


def servable(v3: dict[str, Any]) -> bool:
    return v3["pcf"]["declaredUnitOfMeasurement"] in V2_UNITS


def _cpc(classifications: list[str] | None) -> str:
    for urn in classifications or ():
        if ":un-cpc:" in urn.lower():
            return urn.rsplit(":", 1)[-1]
    return "unknown"


def to_v2(v3: dict[str, Any]) -> dict[str, Any]:
    """The v2.3 form of a served v3.0 ProductFootprint (``servable`` must hold)."""
    p = v3["pcf"]
    ipcc: list[str] = list(p["ipccCharacterizationFactors"])
    pcf: dict[str, Any] = {
        "declaredUnit": p["declaredUnitOfMeasurement"],
        "unitaryProductAmount": p["declaredUnitAmount"],
        "productMassPerDeclaredUnit": p["productMassPerDeclaredUnit"],
        "pCfExcludingBiogenic": p["pcfExcludingBiogenicUptake"],
        "pCfIncludingBiogenic": p["pcfIncludingBiogenicUptake"],
        "fossilGhgEmissions": p["fossilGhgEmissions"],
        "fossilCarbonContent": p["fossilCarbonContent"],
        "biogenicCarbonContent": p.get("biogenicCarbonContent") or "0",
        "characterizationFactors": "AR6" if "AR6" in ipcc else "AR5",
        "ipccCharacterizationFactorsSources": ipcc,
        "crossSectoralStandardsUsed": [
            _STANDARDS[s] for s in p["crossSectoralStandards"] if s in _STANDARDS
        ],
        "boundaryProcessesDescription": p.get("boundaryProcessesDescription") or "",
        "referencePeriodStart": p["referencePeriodStart"],
        "referencePeriodEnd": p["referencePeriodEnd"],
        "exemptedEmissionsPercent": number(p["exemptedEmissionsPercent"]),
        "exemptedEmissionsDescription": p.get("exemptedEmissionsDescription") or "",
        "packagingEmissionsIncluded": bool(p.get("packagingEmissionsIncluded")),
    }
    for v3_name, v2_name in (
        ("landUseChangeGhgEmissions", "dLucGhgEmissions"),
        ("biogenicCO2Uptake", "biogenicCarbonWithdrawal"),
        ("aircraftGhgEmissions", "aircraftGhgEmissions"),
        ("packagingGhgEmissions", "packagingGhgEmissions"),
        ("allocationRulesDescription", "allocationRulesDescription"),
        ("geographyCountrySubdivision", "geographyCountrySubdivision"),
        ("geographyCountry", "geographyCountry"),
        ("geographyRegionOrSubregion", "geographyRegionOrSubregion"),
        ("secondaryEmissionFactorSources", "secondaryEmissionFactorSources"),
        ("productOrSectorSpecificRules", "productOrSectorSpecificRules"),
    ):
        if p.get(v3_name) is not None:
            pcf[v2_name] = p[v3_name]
    if p.get("primaryDataShare") is not None:
        pcf["primaryDataShare"] = number(p["primaryDataShare"])
    if p.get("dqi"):
        pcf["dqi"] = {k: number(v) for k, v in p["dqi"].items()}
    verification = p.get("verification")
    if verification:
        assurance: dict[str, Any] = {"assurance": True}
        if verification.get("coverage") in _COVERAGE:
            assurance["coverage"] = _COVERAGE[verification["coverage"]]
        for name in ("providerName", "completedAt", "standardName", "comments"):
            if verification.get(name) is not None:
                assurance[name] = verification[name]
        pcf["assurance"] = assurance
    doc: dict[str, Any] = {
        "id": v3["id"],
        "specVersion": "2.3.0",
        "version": 1,
        "created": v3["created"],
        "status": v3["status"],
        "companyName": v3["companyName"],
        "companyIds": v3["companyIds"],
        "productDescription": v3["productDescription"],
        "productIds": v3["productIds"],
        "productCategoryCpc": _cpc(v3.get("productClassifications")),
        "productNameCompany": v3["productNameCompany"],
        "comment": v3.get("comment") or "",
        "pcf": pcf,
    }
    for name in (
        "precedingPfIds",
        "validityPeriodStart",
        "validityPeriodEnd",
        "productClassifications",
        "extensions",
    ):
        if v3.get(name) is not None:
            doc[name] = v3[name]
    return doc
