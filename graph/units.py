"""Unit conversion with pint: the one place that maps PACT unit names to pint units.

PACT v3 declared units are spelled out ("kilowatt hour", "ton kilometer"); composition lines
may also use any unit pint understands ("g", "t", "MWh"). ``piece`` is its own dimension so that
pieces never silently convert to kilograms or to a dimensionless number.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pint

from graph.errors import UnitConversionError

_UREG: Any = pint.UnitRegistry()
_UREG.define("piece = [piece] = pc = pieces")

#: PACT v3 ``declaredUnitOfMeasurement`` values → pint expressions.
PACT_UNITS: dict[str, str] = {
    "liter": "liter",
    "kilogram": "kilogram",
    "cubic meter": "meter ** 3",
    "kilowatt hour": "kilowatt_hour",
    "megajoule": "megajoule",
    "ton kilometer": "metric_ton * kilometer",
    "square meter": "meter ** 2",
    "piece": "piece",
}


def _pint_unit(name: str) -> Any:
    expression = PACT_UNITS.get(name.strip().lower(), name)
    try:
        return _UREG.parse_units(expression)
    except Exception as e:  # pint raises assorted parser errors on garbage input
        raise UnitConversionError(name, "?") from e


@lru_cache(maxsize=4096)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` one ``from_unit`` is (cached: a graph has few distinct pairs).

    Raises :class:`UnitConversionError` when the units are unknown or of different dimensions.
    """
    if from_unit == to_unit:
        return 1.0
    try:
        source = _pint_unit(from_unit)
        target = _pint_unit(to_unit)
    except UnitConversionError as e:
        raise UnitConversionError(from_unit, to_unit) from e
    try:
        return float(_UREG.Quantity(1.0, source).to(target).magnitude)
    except pint.errors.DimensionalityError as e:
        raise UnitConversionError(from_unit, to_unit) from e


def is_known_unit(name: str) -> bool:
    """Whether pint (after PACT name mapping) understands ``name``."""
    try:
        _pint_unit(name)
    except UnitConversionError:
        return False
    return True
