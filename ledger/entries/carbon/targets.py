"""``target`` (a buyer's reduction target for a supplier) and ``inventory`` (a
supplier's annual corporate inventory)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from ledger.entries.base import Entry, Text, Urn, entry_type
from ledger.entries.carbon.common import (
    NonNegativeDecimal,
    Scope,
    Strict,
    Year,
    check_unique,
    dec,
    fail,
)
from ledger.entries.carbon.sites import SiteUrn

Metric = Literal["absolute-tco2e", "intensity", "renewable-electricity-share"]


@entry_type("target", signer_roles={"buyer"})
class Target(Entry):
    """A buyer sets a target for a supplier: absolute tCO2e, an intensity (tCO2e per
    ``intensityUnit``) or a renewable electricity share in percent."""

    type: Literal["target"]
    supplier: Urn
    metric: Metric
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)]
    baseYear: Year
    baseValue: NonNegativeDecimal
    targetYear: Year
    targetValue: NonNegativeDecimal
    intensityUnit: Text | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        check_unique("scopes", self.scopes)
        if self.supplier == self.org:
            raise fail(("supplier",), "a buyer sets targets for another org", self.supplier)
        if self.targetYear <= self.baseYear:
            raise fail(("targetYear",), "must be after baseYear", self.targetYear)
        if self.metric == "intensity" and self.intensityUnit is None:
            raise fail(("intensityUnit",), "required for an intensity target")
        if self.metric != "intensity" and self.intensityUnit is not None:
            raise fail(("intensityUnit",), "only allowed for an intensity target")
        if self.metric == "renewable-electricity-share":
            for name in ("baseValue", "targetValue"):
                if dec(getattr(self, name)) > 100:
                    raise fail((name,), "a share is at most 100 (percent)", getattr(self, name))
        return self


class Scope3Category(Strict):
    """One declared GHG Protocol scope 3 category (1 to 15) and its emissions."""

    category: Annotated[int, Field(ge=1, le=15)]
    tCO2e: NonNegativeDecimal


@entry_type("inventory", signer_roles={"supplier"})
class Inventory(Entry):
    """A supplier's GHG inventory for one reporting year: of the whole org, or of one of
    its enrolled ``site``s (a factory, as the zero-carbon factory programme rates them).

    ``scope2TCO2e`` is location-based (its meaning before market-based figures were
    recorded); ``scope2MarketTCO2e`` is the market-based figure. ``baseYear`` is the year
    own reductions are measured against. A later inventory of the same org, site (or
    none) and year replaces an earlier one."""

    type: Literal["inventory"]
    reportingYear: Year
    scope1TCO2e: NonNegativeDecimal
    scope2TCO2e: NonNegativeDecimal
    scope3TCO2e: NonNegativeDecimal | None = None
    electricityMWh: NonNegativeDecimal
    renewableElectricityMWh: NonNegativeDecimal
    # Output in the year, the denominator of intensity targets (in their intensityUnit).
    productionAmount: NonNegativeDecimal | None = None
    productionUnit: Text | None = None
    site: SiteUrn | None = None
    baseYear: Year | None = None
    scope2MarketTCO2e: NonNegativeDecimal | None = None
    scope3Categories: Annotated[list[Scope3Category], Field(min_length=1, max_length=15)] | None = (
        None
    )

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.baseYear is not None and self.baseYear >= self.reportingYear:
            raise fail(("baseYear",), "must be before reportingYear", self.baseYear)
        if self.scope3Categories is not None:
            check_unique("scope3Categories", (c.category for c in self.scope3Categories))
            declared = sum((dec(c.tCO2e) for c in self.scope3Categories), dec("0"))
            if self.scope3TCO2e is None or dec(self.scope3TCO2e) != declared:
                raise fail(
                    ("scope3TCO2e",),
                    f"must equal the sum of scope3Categories ({declared})",
                    self.scope3TCO2e,
                )
        if (self.productionAmount is None) != (self.productionUnit is None):
            raise fail(("productionUnit",), "productionAmount and productionUnit go together")
        if dec(self.renewableElectricityMWh) > dec(self.electricityMWh):
            raise fail(
                ("renewableElectricityMWh",),
                "must not exceed electricityMWh",
                self.renewableElectricityMWh,
            )
        return self
