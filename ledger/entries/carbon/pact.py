"""PACT Technical Specifications v3.0 ``ProductFootprint`` and ``CarbonFootprint``.

Member names, required members, enumerations and value ranges follow the v3.0
OpenAPI data model (wbcsd/data-exchange-protocol, ``spec/v3/openapi.yaml``), with
decimals as strings. The cross-field rules of the specification are enforced in
the model validators below; each says where in the specification it comes from.
The gateway reuses these models to serve PACT responses, so they hold no
ledger-specific rule (those live in ``ledger.entries.carbon.footprint``).
"""

from __future__ import annotations

from datetime import MAXYEAR, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from ledger.entries.base import Urn
from ledger.entries.carbon.common import (
    DecimalString,
    LongText,
    NonNegativeDecimal,
    NonPositiveDecimal,
    Percent,
    PositiveDecimal,
    Strict,
    Timestamp,
    Uuid,
    check_unique,
    dec,
    fail,
    instant,
)

NonEmptyString = Annotated[str, StringConstraints(min_length=1, max_length=10000)]
Uri = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", max_length=2048)]
# v3 "major.minor.patch" with an optional -YYYYMMDD suffix; this model accepts major version 3.
SpecVersion = Annotated[str, StringConstraints(pattern=r"^3\.[0-9]+\.[0-9]+(-[0-9]{8})?$")]
# Data quality ratings are between 1 and 5 inclusive.
Dqr = Annotated[str, StringConstraints(pattern=r"^([1-4](\.[0-9]+)?|5(\.0+)?)$", max_length=64)]
IpccFactor = Annotated[str, StringConstraints(pattern=r"^AR[0-9]+$")]

DeclaredUnit = Literal[
    "liter",
    "kilogram",
    "cubic meter",
    "kilowatt hour",
    "megajoule",
    "ton kilometer",
    "square meter",
    "piece",
    "hour",
    "megabit second",
]
CrossSectoralStandard = Literal[
    "ISO14067",
    "ISO14083",
    "ISO14040-44",
    "GHGP-Product",
    "PEF",
    "PACT-1.0",
    "PACT-2.0",
    "PACT-3.0",
    "PAS2050",
]
RegionOrSubregion = Literal[
    "Africa",
    "Americas",
    "Asia",
    "Europe",
    "Oceania",
    "Australia and New Zealand",
    "Central Asia",
    "Eastern Asia",
    "Eastern Europe",
    "Latin America and the Caribbean",
    "Melanesia",
    "Micronesia",
    "Northern Africa",
    "Northern America",
    "Northern Europe",
    "Polynesia",
    "South-eastern Asia",
    "Southern Asia",
    "Southern Europe",
    "Sub-Saharan Africa",
    "Western Asia",
    "Western Europe",
]


class DataQualityIndicators(Strict):
    technologicalDQR: Dqr
    geographicalDQR: Dqr
    temporalDQR: Dqr


class Verification(Strict):
    coverage: Literal["PCF calculation model", "PCF program", "product level"] | None = None
    providerName: NonEmptyString | None = None
    completedAt: Timestamp | None = None
    standardName: NonEmptyString | None = None
    comments: LongText | None = None


class EmissionFactorSource(Strict):
    name: NonEmptyString
    version: NonEmptyString


class ProductOrSectorSpecificRule(Strict):
    operator: Literal["PEF", "EPD International", "Other"]
    ruleNames: Annotated[list[NonEmptyString], Field(min_length=1)]
    otherOperatorName: NonEmptyString | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        check_unique("ruleNames", self.ruleNames)
        # v3: "If operator is Other, then this attribute must be populated".
        if self.operator == "Other" and self.otherOperatorName is None:
            raise fail(("otherOperatorName",), "required when operator is Other")
        return self


class DataModelExtension(Strict):
    specVersion: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    dataSchema: Uri
    documentation: Uri | None = None
    data: dict[str, Any]


class CarbonFootprint(Strict):
    """The ``pcf`` member: emissions in kgCO2e per declared unit."""

    declaredUnitOfMeasurement: DeclaredUnit
    declaredUnitAmount: PositiveDecimal
    productMassPerDeclaredUnit: NonNegativeDecimal
    referencePeriodStart: Timestamp
    referencePeriodEnd: Timestamp
    geographyRegionOrSubregion: RegionOrSubregion | None = None
    geographyCountry: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    geographyCountrySubdivision: (
        Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")] | None
    ) = None
    boundaryProcessesDescription: LongText | None = None
    pcfExcludingBiogenicUptake: DecimalString
    pcfIncludingBiogenicUptake: DecimalString
    fossilCarbonContent: NonNegativeDecimal
    biogenicCarbonContent: NonNegativeDecimal | None = None
    recycledCarbonContent: NonNegativeDecimal | None = None
    fossilGhgEmissions: NonNegativeDecimal
    landUseChangeGhgEmissions: NonNegativeDecimal | None = None
    landCarbonLeakage: NonNegativeDecimal | None = None
    landManagementFossilGhgEmissions: NonNegativeDecimal | None = None
    landManagementBiogenicCO2Emissions: NonNegativeDecimal | None = None
    landManagementBiogenicCO2Removals: NonPositiveDecimal | None = None
    biogenicCO2Uptake: NonPositiveDecimal | None = None
    biogenicNonCO2Emissions: NonNegativeDecimal | None = None
    landAreaOccupation: NonNegativeDecimal | None = None
    aircraftGhgEmissions: NonNegativeDecimal | None = None
    packagingEmissionsIncluded: bool | None = None
    packagingGhgEmissions: NonNegativeDecimal | None = None
    packagingBiogenicCarbonContent: NonNegativeDecimal | None = None
    outboundLogisticsGhgEmissions: NonNegativeDecimal | None = None
    technologicalCO2CaptureOrigin: NonEmptyString | None = None
    technologicalCO2Removals: NonNegativeDecimal | None = None
    ccsTechnologicalCO2CaptureIncluded: bool | None = None
    ccsTechnologicalCO2Capture: NonPositiveDecimal | None = None
    ccuCarbonContent: NonNegativeDecimal | None = None
    ccuCalculationApproach: Literal["Cut-off", "Credit"] | None = None
    ccuCreditCertification: Uri | None = None
    ipccCharacterizationFactors: Annotated[list[IpccFactor], Field(min_length=1)]
    crossSectoralStandards: Annotated[list[CrossSectoralStandard], Field(min_length=1)]
    productOrSectorSpecificRules: (
        Annotated[list[ProductOrSectorSpecificRule], Field(min_length=1)] | None
    ) = None
    exemptedEmissionsPercent: Percent
    exemptedEmissionsDescription: LongText | None = None
    allocationRulesDescription: LongText | None = None
    secondaryEmissionFactorSources: (
        Annotated[list[EmissionFactorSource], Field(min_length=1)] | None
    ) = None
    primaryDataShare: Percent | None = None
    dqi: DataQualityIndicators | None = None
    verification: Verification | None = None

    @model_validator(mode="after")
    def _v3_rules(self) -> Self:
        check_unique("ipccCharacterizationFactors", self.ipccCharacterizationFactors)
        check_unique("crossSectoralStandards", self.crossSectoralStandards)
        check_unique("secondaryEmissionFactorSources", self.secondaryEmissionFactorSources)
        # Reference period: start inclusive, end exclusive, so end must be later.
        if instant(self.referencePeriodEnd) <= instant(self.referencePeriodStart):
            raise fail(
                ("referencePeriodEnd",),
                "referencePeriodEnd must be after referencePeriodStart",
                self.referencePeriodEnd,
            )
        # Scope of a CarbonFootprint: at most one geography granularity is defined.
        geo = [
            name
            for name in (
                "geographyRegionOrSubregion",
                "geographyCountry",
                "geographyCountrySubdivision",
            )
            if getattr(self, name) is not None
        ]
        if len(geo) > 1:
            raise fail((geo[1],), f"must be undefined when {geo[0]} is defined")
        # PCF(incl.) = PCF(excl.) + biogenicCO2Uptake, and biogenicCO2Uptake <= 0.
        excl, incl = dec(self.pcfExcludingBiogenicUptake), dec(self.pcfIncludingBiogenicUptake)
        if self.biogenicCO2Uptake is not None:
            if incl != excl + dec(self.biogenicCO2Uptake):
                raise fail(
                    ("pcfIncludingBiogenicUptake",),
                    "must equal pcfExcludingBiogenicUptake + biogenicCO2Uptake",
                    self.pcfIncludingBiogenicUptake,
                )
        elif incl > excl:
            raise fail(
                ("pcfIncludingBiogenicUptake",),
                "must not exceed pcfExcludingBiogenicUptake (biogenic uptake is <= 0)",
                self.pcfIncludingBiogenicUptake,
            )
        # fossilGhgEmissions already includes landManagementFossilGhgEmissions.
        if self.landManagementFossilGhgEmissions is not None and dec(
            self.landManagementFossilGhgEmissions
        ) > dec(self.fossilGhgEmissions):
            raise fail(
                ("landManagementFossilGhgEmissions",),
                "must not exceed fossilGhgEmissions, which includes it",
            )
        self._check_flags()
        # productMassPerDeclaredUnit is the mass in kg of the declared unit, so for a
        # declared unit in kilogram it is the declared amount itself.
        if self.declaredUnitOfMeasurement == "kilogram" and dec(
            self.productMassPerDeclaredUnit
        ) != dec(self.declaredUnitAmount):
            raise fail(
                ("productMassPerDeclaredUnit",),
                "must equal declaredUnitAmount when the declared unit is kilogram",
            )
        return self

    def _check_flags(self) -> None:
        # packagingGhgEmissions MUST be undefined if packagingEmissionsIncluded is false.
        if self.packagingGhgEmissions is not None and self.packagingEmissionsIncluded is not True:
            raise fail(("packagingGhgEmissions",), "requires packagingEmissionsIncluded to be true")
        # CCS values shall be undefined unless ccsTechnologicalCO2CaptureIncluded is true.
        if self.ccsTechnologicalCO2CaptureIncluded is not True:
            for name in ("ccsTechnologicalCO2Capture", "technologicalCO2Removals"):
                if getattr(self, name) is not None:
                    raise fail((name,), "requires ccsTechnologicalCO2CaptureIncluded to be true")
        if (
            self.ccsTechnologicalCO2CaptureIncluded is False
            and self.technologicalCO2CaptureOrigin is not None
            and self.ccuCarbonContent is None
            and self.ccuCalculationApproach is None
        ):
            raise fail(
                ("technologicalCO2CaptureOrigin",),
                "must be undefined without CCS or CCU",
            )
        # ccuCreditCertification is only for the Credit approach.
        if self.ccuCreditCertification is not None and self.ccuCalculationApproach != "Credit":
            raise fail(
                ("ccuCreditCertification",), "only allowed when ccuCalculationApproach is Credit"
            )


# PACT v3: without an explicit validity period, a footprint is valid for three years
# after its reference period ends; an explicit one may not end later than that.
DEFAULT_VALIDITY_YEARS = 3


def plus_years(moment: datetime, years: int) -> datetime | None:
    """``moment`` that many years later (29 February -> 28 February), or None when
    that is past the calendar's last year: later than every instant an entry or a
    query can name, so the caller treats it as unbounded instead of constructing it.
    """
    if moment.year + years > MAXYEAR:
        return None
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


class ProductFootprint(Strict):
    """A PACT v3.0 ProductFootprint."""

    id: Uuid
    specVersion: SpecVersion
    precedingPfIds: Annotated[list[Uuid], Field(min_length=1)] | None = None
    created: Timestamp
    status: Literal["Active", "Deprecated"]
    validityPeriodStart: Timestamp | None = None
    validityPeriodEnd: Timestamp | None = None
    companyName: NonEmptyString
    companyIds: Annotated[list[Urn], Field(min_length=1)]
    productDescription: LongText
    productIds: Annotated[list[Urn], Field(min_length=1)]
    productClassifications: Annotated[list[Urn], Field(min_length=1)] | None = None
    productNameCompany: NonEmptyString
    comment: LongText | None = None
    pcf: CarbonFootprint
    extensions: list[DataModelExtension] | None = None

    @model_validator(mode="after")
    def _v3_rules(self) -> Self:
        for name in ("companyIds", "productIds", "productClassifications", "precedingPfIds"):
            check_unique(name, getattr(self, name))
        # Lifecycle: a changed footprint gets a new id; it cannot precede itself.
        if self.precedingPfIds is not None and self.id in self.precedingPfIds:
            index = self.precedingPfIds.index(self.id)
            raise fail(("precedingPfIds", index), "must not contain the footprint's own id")
        self._check_validity_period()
        return self

    def _check_validity_period(self) -> None:
        # Validity period: both or neither; start >= referencePeriodEnd;
        # start < end <= referencePeriodEnd + 3 years.
        start, end = self.validityPeriodStart, self.validityPeriodEnd
        if start is None and end is None:
            return
        if start is None:
            raise fail(("validityPeriodStart",), "required when validityPeriodEnd is defined")
        if end is None:
            raise fail(("validityPeriodEnd",), "required when validityPeriodStart is defined")
        ref_end = instant(self.pcf.referencePeriodEnd)
        if instant(start) < ref_end:
            raise fail(("validityPeriodStart",), "must not be before pcf.referencePeriodEnd", start)
        if instant(end) <= instant(start):
            raise fail(("validityPeriodEnd",), "must be after validityPeriodStart", end)
        latest = plus_years(ref_end, DEFAULT_VALIDITY_YEARS)
        if latest is not None and instant(end) > latest:
            raise fail(
                ("validityPeriodEnd",),
                "must not be later than pcf.referencePeriodEnd + 3 years",
                end,
            )
