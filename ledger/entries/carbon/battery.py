"""The ``battery`` object of a ``footprint`` entry: the facts the EU Battery Regulation's
carbon footprint declaration needs beyond the PACT footprint.

Regulation (EU) 2023/1542, Art. 7(1), declares the footprint per battery model and
manufacturing plant, in kgCO2e per kWh of the total energy the battery provides over its
expected service life, with a web link to a public version of the supporting study. That
functional unit is usable energy at beginning of life × full equivalent cycles per year ×
years of service, as the manufacturer declares them; when the cycles are not declared they
default by vehicle category to the figures of the Commission's draft calculation method
(``DEFAULT_CYCLES_PER_YEAR``, documented in docs/entry-types.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import StringConstraints, model_validator

from ledger.entries.base import Text
from ledger.entries.carbon.common import PositiveDecimal, Strict, dec, fail

# Vehicle categories of Regulation (EU) 2018/858 the draft method gives cycles for.
VehicleCategory = Literal["M1", "N1", "M2", "M3", "N2", "N3"]

#: Full equivalent cycles per year by vehicle category, from the Commission's draft method
#: for the carbon footprint of electric vehicle batteries: passenger cars and light
#: commercial vehicles 60, buses, coaches and trucks 250.
DEFAULT_CYCLES_PER_YEAR: dict[str, int] = {
    "M1": 60,
    "N1": 60,
    "M2": 250,
    "M3": 250,
    "N2": 250,
    "N3": 250,
}

# A Catena-X business partner number of a site or address (BPNA): what the Catena-X battery
# passport names a manufacturing plant by.
Bpna = Annotated[str, StringConstraints(pattern=r"^BPNA[A-Za-z0-9]{12}$")]
# The public study is a web page: an absolute http(s) URL.
WebLink = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+\S*$", max_length=2048)]
# The Regulation's performance classes are letters ("A" the best); a class may carry a suffix.
PerformanceClass = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9+-]{0,15}$")]


class BatteryFacts(Strict):
    """What a battery manufacturer declares beside the PACT footprint."""

    usableEnergyKwh: PositiveDecimal
    yearsOfService: PositiveDecimal
    fullEquivalentCyclesPerYear: PositiveDecimal | None = None
    vehicleCategory: VehicleCategory | None = None
    batteryModel: Text
    manufacturingPlant: Text
    manufacturingPlantBpna: Bpna | None = None
    studyLink: WebLink
    performanceClass: PerformanceClass | None = None

    @model_validator(mode="after")
    def _cycles_known(self) -> Self:
        if self.fullEquivalentCyclesPerYear is None and self.vehicleCategory is None:
            raise fail(
                ("fullEquivalentCyclesPerYear",),
                "required unless vehicleCategory gives the default cycles per year",
            )
        return self

    def cycles_per_year(self) -> Decimal:
        """The declared cycles per year, else the vehicle category's default."""
        if self.fullEquivalentCyclesPerYear is not None:
            return dec(self.fullEquivalentCyclesPerYear)
        assert self.vehicleCategory is not None, "checked by _cycles_known"
        return Decimal(DEFAULT_CYCLES_PER_YEAR[self.vehicleCategory])
