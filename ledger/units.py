"""Units of amounts on the ledger, converted by pint (never by hand-written tables).

The one place that maps the unit names entries use (PACT v3 declared units
and common activity units, spelled out as PACT spells them) to pint units.
``piece`` is a dimension of its own, so pieces never silently convert to
kilograms or to a bare number. The footprint engine converts with the same
mapping.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any


@cache
def _registry() -> Any:
    """The one pint registry, built on first use: parsing pint's definitions takes about
    a third of a second, which a restarting gateway that converts nothing should not
    wait for before its first answer."""
    import pint

    registry: Any = pint.UnitRegistry()
    registry.define("piece = [piece] = pc = pieces")
    return registry


#: Entry unit names → pint expressions (names not listed are given to pint as they are).
UNIT_EXPRESSIONS: dict[str, str] = {
    "liter": "liter",
    "kilogram": "kilogram",
    "gram": "gram",
    "tonne": "metric_ton",
    "cubic meter": "meter ** 3",
    "kilowatt hour": "kilowatt_hour",
    "megawatt hour": "megawatt_hour",
    "megajoule": "megajoule",
    "gigajoule": "gigajoule",
    "ton kilometer": "metric_ton * kilometer",
    "square meter": "meter ** 2",
    "piece": "piece",
    "hour": "hour",
    "megabit second": "megabit * second",
    # activity.batch reading units
    "kWh": "kilowatt_hour",
    "m3": "meter ** 3",
    "t": "metric_ton",
    "GJ": "gigajoule",
}


class UnitConversionError(ValueError):
    """The two units are unknown or of different dimensions."""

    def __init__(self, from_unit: str, to_unit: str) -> None:
        super().__init__(f"{from_unit!r} cannot be converted to {to_unit!r}")
        self.from_unit = from_unit
        self.to_unit = to_unit


def _pint_unit(name: str) -> Any:
    expression = UNIT_EXPRESSIONS.get(name) or UNIT_EXPRESSIONS.get(name.strip().lower(), name)
    return _registry().parse_units(expression)


@lru_cache(maxsize=4096)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` one ``from_unit`` is.

    Raises ``UnitConversionError`` when either unit is unknown or the two are
    of different dimensions.
    """
    if from_unit == to_unit:
        return 1.0
    try:
        source, target = _pint_unit(from_unit), _pint_unit(to_unit)
        return float(_registry().Quantity(1.0, source).to(target).magnitude)
    except Exception as exc:  # pint raises assorted parser and dimensionality errors
        raise UnitConversionError(from_unit, to_unit) from exc


def convertible(from_unit: str, to_unit: str) -> bool:
    try:
        conversion_factor(from_unit, to_unit)
    except UnitConversionError:
        return False
    return True


def is_known(name: str) -> bool:
    """Whether pint (after the name mapping) understands ``name``."""
    try:
        _pint_unit(name)
    except Exception:  # pint raises assorted parser errors on garbage input
        return False
    return True
