"""Battery carbon footprint in kgCO2e per kWh with the EU Battery Regulation stage shares.

Regulation (EU) 2023/1542, Art. 7 and Annex II, reports the carbon footprint per kWh of
total energy provided by the battery over its expected service life, split into four life
cycle stages: raw material acquisition and pre-processing, main product production,
distribution, end of life and recycling. The engine's stages map one to one onto these
(PACT stage names); the use stage is excluded by the Regulation and does not exist here.
``battery_declaration`` applies the functional unit to one battery (its usable energy,
full equivalent cycles per year and years of service).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graph.errors import InvalidParameterError, OutOfRangeError, UnitConversionError
from graph.model import STAGES
from graph.results import ComputedFootprint
from graph.units import conversion_factor

#: PACT stage → EU Battery Regulation life cycle stage.
REGULATION_STAGES: dict[str, str] = {
    "raw-material-acquisition": "raw material acquisition and pre-processing",
    "main-production": "main product production",
    "distribution": "distribution",
    "end-of-life-recycling": "end of life and recycling",
}


@dataclass(frozen=True, slots=True)
class BatteryFootprint:
    """kgCO2e per kWh, per stage (kgCO2e/kWh) and stage shares (summing to 1)."""

    footprint_id: str
    kg_co2e_per_kwh: float
    stage_kg_co2e_per_kwh: dict[str, float]
    stage_shares: dict[str, float]


def _kwh_per_declared_unit(result: ComputedFootprint) -> float:
    """The energy (kWh) of one declared unit, which must be an energy unit."""
    try:
        return conversion_factor(result.declared_unit, "kilowatt hour")
    except UnitConversionError as e:
        raise InvalidParameterError(
            f"{result.footprint_id}: declared unit {result.declared_unit!r} is not an energy "
            "unit; pass energy_kwh_per_declared_unit"
        ) from e


def battery_footprint(
    result: ComputedFootprint, energy_kwh_per_declared_unit: float | None = None
) -> BatteryFootprint:
    """Express a computed footprint per kWh of energy.

    ``energy_kwh_per_declared_unit`` is the energy (kWh) the Regulation's functional unit
    assigns to one declared unit (e.g. capacity × expected full cycles for a ``piece``). When
    omitted, the declared unit itself must be an energy unit (``kilowatt hour``, ``megajoule``).
    """
    if energy_kwh_per_declared_unit is None:
        energy = _kwh_per_declared_unit(result)
    else:
        energy = energy_kwh_per_declared_unit
    if energy <= 0:
        raise InvalidParameterError("energy per declared unit must be > 0")
    per_kwh = result.total / energy
    stage = {REGULATION_STAGES[s]: result.by_stage.get(s, 0.0) / energy for s in STAGES}
    shares = {k: (v / per_kwh if per_kwh != 0.0 else 0.0) for k, v in stage.items()}
    return BatteryFootprint(result.footprint_id, per_kwh, stage, shares)


@dataclass(frozen=True, slots=True)
class BatteryDeclaration:
    """The Regulation's functional unit applied to one battery's computed footprint."""

    per_kwh: BatteryFootprint
    kg_co2e_per_battery: float
    service_life_energy_kwh: float  # of one battery

    def is_finite(self) -> bool:
        """Whether every figure is a finite number (see ``OutOfRangeError``)."""
        per_kwh = self.per_kwh
        figures = [self.kg_co2e_per_battery, self.service_life_energy_kwh]
        figures += [per_kwh.kg_co2e_per_kwh, *per_kwh.stage_kg_co2e_per_kwh.values()]
        figures += per_kwh.stage_shares.values()
        return all(math.isfinite(figure) for figure in figures)


def battery_declaration(
    result: ComputedFootprint,
    usable_energy_kwh: float,
    cycles_per_year: float,
    years_of_service: float,
) -> BatteryDeclaration:
    """kgCO2e per kWh of the total energy a battery provides over its service life (usable
    energy at beginning of life × full equivalent cycles per year × years of service).

    The declared unit is one battery (``piece``) or an energy unit, read as that much
    usable energy at beginning of life (e.g. a footprint per kWh of capacity).
    """
    if min(usable_energy_kwh, cycles_per_year, years_of_service) <= 0:
        raise InvalidParameterError("usable energy, cycles per year and years must be > 0")
    if result.declared_unit == "piece":
        usable_per_unit = usable_energy_kwh
    else:
        usable_per_unit = _kwh_per_declared_unit(result)
    lifetime = cycles_per_year * years_of_service
    declaration = BatteryDeclaration(
        battery_footprint(result, usable_per_unit * lifetime),
        result.total * usable_energy_kwh / usable_per_unit,
        usable_energy_kwh * lifetime,
    )
    if not declaration.is_finite():
        raise OutOfRangeError(result.footprint_id, "the battery declaration")
    return declaration
