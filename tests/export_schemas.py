"""Validators of the published data models the gateway exports into (the schemas copied,
with their CC-BY-4.0 attribution, in tests/data/published-schemas). (No tests here.)"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SCHEMAS = Path(__file__).resolve().parent / "data" / "published-schemas"


def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / relative).read_text(encoding="utf-8"))
    return loaded


def _validator(schema: dict[str, Any]) -> Draft4Validator:
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


@cache
def batterypass() -> Draft4Validator:
    """Battery Pass ``CarbonFootprintForBatteries`` 1.2.0."""
    return _validator(
        _load("batterypass-carbonfootprint-1.2.0/CarbonFootprintForBatteries-schema.json")
    )


@cache
def catenax_battery_carbon_footprint() -> Draft4Validator:
    """The ``sustainability.carbonFootprint`` part of the Catena-X battery pass 6.1.0: that
    property's own schema, resolved against the whole document's components."""
    whole = _load("catenax-battery_pass-6.1.0/BatteryPass-schema.json")
    sustainability = whole["properties"]["sustainability"]["$ref"].rsplit("/", 1)[-1]
    part = whole["components"]["schemas"][sustainability]["properties"]["carbonFootprint"]
    return _validator({"$schema": whole["$schema"], **part, "components": whole["components"]})


@cache
def catenax_pcf() -> Draft4Validator:
    """Catena-X PCF 9.0.0."""
    return _validator(_load("catenax-pcf-9.0.0/Pcf-schema.json"))


def errors(validator: Draft4Validator, document: Any) -> list[str]:
    """Every violation, as ``path: message`` (empty when the document validates)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(document)
    ]
