"""The Catena-X battery passport's carbon footprint, version 6.1.0
(``urn:samm:io.catenax.battery.battery_pass:6.1.0#BatteryPass``, its
``sustainability.carbonFootprint`` list of footprint entities).

One entity for the whole footprint, then one per Regulation life cycle stage (named as
the Regulation names them, as the model's ``lifecycle`` description suggests), each in
kgCO2e per kWh of the total energy over the service life. The model's values are never
negative (``PositiveTrait``): a footprint with a negative stage (e.g. a recycling credit
larger than the stage's emissions) is not exported in this format.
"""

from __future__ import annotations

from typing import Any

from gateway.exports import NotExportable
from gateway.quantities import number
from graph.battery import BatteryDeclaration
from ledger.entries.carbon.battery import BatteryFacts

FORMAT = "catenax-battery_pass-6.1.0"
TOTAL_LIFECYCLE = "all life cycle stages (total)"
UNIT = "kg CO2e / kWh"
# The calculation rules the Regulation's declaration follows.
RULEBOOK = {
    "contentType": "URL",
    "header": "Regulation (EU) 2023/1542, Article 7 and Annex II",
    "content": "https://eur-lex.europa.eu/eli/reg/2023/1542/oj",
}


def carbon_footprint(declaration: BatteryDeclaration, facts: BatteryFacts) -> list[dict[str, Any]]:
    per_kwh = declaration.per_kwh
    values = {TOTAL_LIFECYCLE: per_kwh.kg_co2e_per_kwh, **per_kwh.stage_kg_co2e_per_kwh}
    for lifecycle, value in values.items():
        if value < 0:
            raise NotExportable(
                f"{FORMAT} has no negative footprint values; {lifecycle} is {number(value)} {UNIT}"
            )
    common: dict[str, Any] = {
        "unit": UNIT,
        "type": "Climate Change Total",
        "rulebook": [RULEBOOK],
        "manufacturingPlant": (
            [{"facility": facts.manufacturingPlantBpna}] if facts.manufacturingPlantBpna else []
        ),
        "declaration": [
            {
                "contentType": "URL",
                "header": "Public carbon footprint study",
                "content": facts.studyLink,
            }
        ],
    }
    if facts.performanceClass is not None:
        common["performanceClass"] = facts.performanceClass
    return [
        {"lifecycle": lifecycle, "value": number(value), **common}
        for lifecycle, value in values.items()
    ]
