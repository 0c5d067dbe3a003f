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


class OutOfRangeError(FootprintEngineError):
    """A computed figure exceeds what binary floating point holds (about 1.8e308), or
    is not a number: some footprint or factor upstream declares an absurd amount or value.

    Entries are checked one by one, so values that are each acceptable can multiply past
    any bound along a supply chain; the footprints this reaches are refused by name
    instead of served as infinity."""

    def __init__(self, footprint_id: str, what: str = "its computed footprint") -> None:
        self.footprint_id = footprint_id
        super().__init__(
            f"{what} of {footprint_id} exceeds the range of numbers the engine computes "
            "with (about 1.8e308): an amount or emission value declared upstream is far "
            "too large"
        )


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
