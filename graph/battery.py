"""Battery carbon footprint in kgCO2e per kWh with the EU Battery Regulation stage shares.

Regulation (EU) 2023/1542, Art. 7 and Annex II, reports the carbon footprint per kWh of
total energy provided by the battery over its expected service life, split into four life
cycle stages: raw material acquisition and pre-processing, main product production,
distribution, end of life and recycling. The engine's stages map one to one onto these
(PACT stage names); the use stage is excluded by the Regulation and does not exist here.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.errors import InvalidParameterError, UnitConversionError
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


def battery_footprint(
    result: ComputedFootprint, energy_kwh_per_declared_unit: float | None = None
) -> BatteryFootprint:
    """Express a computed footprint per kWh of energy.

    ``energy_kwh_per_declared_unit`` is the energy (kWh) the Regulation's functional unit
    assigns to one declared unit (e.g. capacity × expected full cycles for a ``piece``). When
    omitted, the declared unit itself must be an energy unit (``kilowatt hour``, ``megajoule``).
    """
    if energy_kwh_per_declared_unit is None:
        try:
            energy = conversion_factor(result.declared_unit, "kilowatt hour")
        except UnitConversionError as e:
            raise InvalidParameterError(
                f"{result.footprint_id}: declared unit {result.declared_unit!r} is not an energy "
                "unit; pass energy_kwh_per_declared_unit"
            ) from e
    else:
        energy = energy_kwh_per_declared_unit
    if energy <= 0:
        raise InvalidParameterError("energy per declared unit must be > 0")
    per_kwh = result.total / energy
    stage = {REGULATION_STAGES[s]: result.by_stage.get(s, 0.0) / energy for s in STAGES}
    shares = {k: (v / per_kwh if per_kwh != 0.0 else 0.0) for k, v in stage.items()}
    return BatteryFootprint(result.footprint_id, per_kwh, stage, shares)
