"""Unit conversion for the engine, by the ledger's one pint mapping (``ledger.units``).

The engine raises its own typed ``UnitConversionError`` so callers of ``graph``
handle one family of errors; the unit names and their pint expressions live in
``ledger.units`` alone, so the ledger's acceptance rules and the engine never
disagree about what converts.
"""

from __future__ import annotations

from graph.errors import UnitConversionError
from ledger import units as _ledger_units

#: Entry unit names → pint expressions (shared with the ledger's rules).
PACT_UNITS = _ledger_units.UNIT_EXPRESSIONS


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` one ``from_unit`` is; ``UnitConversionError`` when none."""
    try:
        return _ledger_units.conversion_factor(from_unit, to_unit)
    except _ledger_units.UnitConversionError as exc:
        raise UnitConversionError(from_unit, to_unit) from exc


def is_known_unit(name: str) -> bool:
    """Whether pint (after the name mapping) understands ``name``."""
    return _ledger_units.is_known(name)
