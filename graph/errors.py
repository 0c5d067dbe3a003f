"""Typed errors of the footprint engine.

Errors that make a whole computation meaningless (a loop with no physical solution) are raised.
Problems of a single input line (unit mismatch, unknown reference) are *reported* on the
product instead, because one supplier's bad line must not stop everybody else's footprints.
"""

from __future__ import annotations


class FootprintEngineError(Exception):
    """Base class of every error raised by :mod:`graph`."""


class NoPhysicalSolutionError(FootprintEngineError):
    """A loop of footprints consumes at least one unit of itself per unit produced.

    Mathematically the spectral radius of the loop's coefficient block is ≥ 1, so
    ``x = e + Aᵀx`` has no non-negative solution. ``cycle`` names the footprints of the
    strongly connected component that fails (sorted, so messages are reproducible).
    ``footprint_id`` is the footprint asked about, when the error answers a query: a member
    of ``cycle`` or a footprint downstream of it (:attr:`in_loop` tells which).
    """

    def __init__(self, cycle: list[str], *, footprint_id: str | None = None) -> None:
        self.cycle = cycle
        self.footprint_id = footprint_id
        shown = ", ".join(cycle[:20]) + (" …" if len(cycle) > 20 else "")
        loop = f"the loop of {len(cycle)} footprint(s) [{shown}]"
        if footprint_id is not None and not self.in_loop:
            loop = f"{footprint_id} depends on {loop}, which"
        super().__init__(
            f"no physical solution: {loop} consumes at least one unit of itself per unit produced"
        )

    @property
    def in_loop(self) -> bool:
        """Whether the footprint asked about is itself a member of the loop."""
        return self.footprint_id is None or self.footprint_id in self.cycle


class UnitConversionError(FootprintEngineError):
    """An input amount's unit cannot be converted to the unit it is multiplied with."""

    def __init__(self, from_unit: str, to_unit: str) -> None:
        self.from_unit = from_unit
        self.to_unit = to_unit
        super().__init__(f"cannot convert {from_unit!r} to {to_unit!r}")


class InvalidParameterError(FootprintEngineError, ValueError):
    """A model value outside its documented range (e.g. CFF ``A`` outside [0.2, 0.8])."""


class UnknownFootprintError(FootprintEngineError, KeyError):
    """A footprint id that the engine does not hold."""

    def __init__(self, footprint_id: str) -> None:
        self.footprint_id = footprint_id
        super().__init__(footprint_id)
