"""The Battery Pass consortium's carbon footprint aspect, version 1.2.0
(``urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#CarbonFootprintForBatteries``, DIN DKE
SPEC 99100 §6.3): the EU Battery Regulation declaration as the battery passport carries it.

``batteryCarbonFootprint`` and each stage's ``carbonFootprint`` are kgCO2e per kWh of the
total energy over the service life (the stages sum to the total);
``absoluteCarbonFootprint`` is kgCO2e per battery. The aspect requires a performance
class, which the Regulation's classes do not define yet: a footprint whose battery facts
declare none is not exported in this format (docs/gateway.md).
"""

from __future__ import annotations

from typing import Any

from gateway.exports import NotExportable
from gateway.quantities import number
from graph.battery import REGULATION_STAGES, BatteryDeclaration
from ledger.entries.carbon.battery import BatteryFacts

FORMAT = "batterypass-1.2.0"

# PACT stage -> the aspect's LifecycleStage.
LIFECYCLE_STAGES: dict[str, str] = {
    "raw-material-acquisition": "RawMaterialExtraction",
    "main-production": "MainProduction",
    "distribution": "Distribution",
    "end-of-life-recycling": "Recycling",
}


def carbon_footprint_for_batteries(
    declaration: BatteryDeclaration, facts: BatteryFacts
) -> dict[str, Any]:
    if facts.performanceClass is None:
        raise NotExportable(
            f"{FORMAT} requires a carbon footprint performance class: the footprint's "
            "battery.performanceClass is not declared"
        )
    per_kwh = declaration.per_kwh
    if per_kwh.kg_co2e_per_kwh < 0:
        raise NotExportable(
            f"{FORMAT}: the battery's carbon footprint is "
            f"{number(per_kwh.kg_co2e_per_kwh)} kgCO2e/kWh; a declaration cannot be negative "
            "(end-of-life credits outweigh the rest)"
        )
    return {
        "batteryCarbonFootprint": number(per_kwh.kg_co2e_per_kwh),
        "carbonFootprintPerLifecycleStage": [
            {
                "lifecycleStage": stage,
                "carbonFootprint": number(
                    per_kwh.stage_kg_co2e_per_kwh[REGULATION_STAGES[pact_stage]]
                ),
            }
            for pact_stage, stage in LIFECYCLE_STAGES.items()
        ],
        "carbonFootprintPerformanceClass": facts.performanceClass,
        "carbonFootprintStudy": facts.studyLink,
        "absoluteCarbonFootprint": number(declaration.kg_co2e_per_battery),
    }
