"""Exports of footprints into other published data models, one mapping per module.

Each mapping is a plain function from what the gateway already serves (the PACT
ProductFootprint, the computed footprint and the entry's battery facts) to the target
model's JSON; the route module (``gateway.exports_api``) only checks access and picks the
mapping. A footprint a model cannot express raises :class:`NotExportable`, which the
route answers with 422 naming what is missing or out of the model's range.
"""

from __future__ import annotations


class NotExportable(ValueError):
    """The footprint has no faithful form in the requested data model (the message says
    why, naming the member)."""


def number(value: float) -> float:
    """A JSON number rounded to 12 significant digits: the exports' numbers are derived in
    binary floating point, and the digits past the twelfth are noise, not data."""
    rounded = float(f"{value:.12g}")
    return rounded if rounded != 0 else 0.0
