"""``target`` (a buyer's reduction target for a supplier) and ``inventory`` (a
supplier's annual corporate inventory)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from ledger.entries.base import Entry, Text, Urn, entry_type
from ledger.entries.carbon.common import (
    NonNegativeDecimal,
    Scope,
    Year,
    check_unique,
    dec,
    fail,
)

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


@entry_type("inventory", signer_roles={"supplier"})
class Inventory(Entry):
    """A supplier's corporate GHG inventory for one reporting year."""

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

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if (self.productionAmount is None) != (self.productionUnit is None):
            raise fail(("productionUnit",), "productionAmount and productionUnit go together")
        if dec(self.renewableElectricityMWh) > dec(self.electricityMWh):
            raise fail(
                ("renewableElectricityMWh",),
                "must not exceed electricityMWh",
                self.renewableElectricityMWh,
            )
        return self
