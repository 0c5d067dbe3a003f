"""Recycled content and end of life: the cut-off approach and the EU PEF Circular Footprint Formula.

Both are written as ``coefficient × E_v + constant`` per unit of the input line, where ``E_v``
is the intensity of the virgin material (the referenced footprint or factor). The coefficient
becomes the matrix coefficient of the edge, the constant goes into the product's direct term;
the system therefore stays linear and the solver needs no special case.

Cut-off: ``(1 − s)·E_v + s·E_burden``.

CFF (the PEF method of Commission Recommendation (EU) 2021/2279, end-of-life modelling; the
formula, not its tables of default values), material, energy and disposal parts per unit::

    (1 − R1)·E_v + R1·(A·E_recycled + (1 − A)·E_v·Qsin/Qp)
      + (1 − A)·R2·(E_recyclingEoL − E*_v·Qsout/Qp)
      + (1 − B)·R3·(E_ER − LHV·X_ER,heat·E_SE,heat − LHV·X_ER,elec·E_SE,elec)
      + (1 − R2 − R3)·E_D

With ``A = 1`` the material part is the cut-off of a recycled share ``R1`` with burden
``E_recycled``. The constant is computed in :mod:`decimal` from the declared strings, so a
declaration's own figures carry no binary rounding into the system.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from graph.errors import InvalidParameterError
from ledger.slots_pickle import SlotsPickle

#: How a footprint accounts for recycled content and end of life.
EndOfLifeMethod = Literal["cut-off", "cff"]
_ZERO = Decimal(0)
_ONE = Decimal(1)


def _check_range(owner: object, fractions: tuple[str, ...], non_negative: tuple[str, ...]) -> None:
    """Raise naming the first field of ``owner`` outside [0, 1] or below 0."""
    for name in fractions:
        value = getattr(owner, name)
        if value is not None and not _ZERO <= value <= _ONE:
            raise InvalidParameterError(f"CFF {name}={value} outside [0, 1]")
    for name in non_negative:
        value = getattr(owner, name)
        if value is not None and value < _ZERO:
            raise InvalidParameterError(f"CFF {name}={value} must be ≥ 0")


@dataclass(frozen=True, slots=True)
class EnergyRecovery(SlotsPickle):
    """The energy-recovery term's data, per unit of the input line.

    ``e_er`` emissions of the energy recovery process (kgCO2e); ``lhv`` lower heating value
    (MJ); ``x_er_heat``/``x_er_elec`` efficiencies in [0, 1]; ``e_se_heat``/``e_se_elec``
    emissions of the heat and electricity the recovered energy substitutes (kgCO2e per MJ).
    """

    e_er: Decimal
    lhv: Decimal
    x_er_heat: Decimal
    x_er_elec: Decimal
    e_se_heat: Decimal
    e_se_elec: Decimal

    def __post_init__(self) -> None:
        _check_range(self, ("x_er_heat", "x_er_elec"), ("e_er", "lhv", "e_se_heat", "e_se_elec"))

    def net(self) -> Decimal:
        """``E_ER − LHV·X_ER,heat·E_SE,heat − LHV·X_ER,elec·E_SE,elec``."""
        return self.e_er - self.lhv * (
            self.x_er_heat * self.e_se_heat + self.x_er_elec * self.e_se_elec
        )


@dataclass(frozen=True, slots=True)
class CffParameters(SlotsPickle):
    """Parameters of the Circular Footprint Formula for one input line.

    ``a`` (A) and ``b`` (B) allocation factors, ``r1`` recycled content, ``r2`` share recycled
    and ``r3`` share sent to energy recovery at end of life (``r2 + r3 ≤ 1``), quality ratios
    ``qsin_qp``/``qsout_qp``: all in [0, 1]. A in [0, 1] rather than PEF's Annex C range
    [0.2, 0.8] so that A = 1 states the cut-off approach in the same terms. Emission values
    are kgCO2e per unit of the input line, ≥ 0; ``energy_recovery`` is required when
    ``r3 > 0``. ``ev`` overrides the virgin intensity (default: the computed intensity of
    the referenced footprint or factor).
    """

    a: Decimal
    r1: Decimal
    r2: Decimal
    qsin_qp: Decimal
    qsout_qp: Decimal
    e_recycling_eol: Decimal
    ev_star: Decimal
    ed: Decimal
    e_recycled: Decimal = _ZERO
    r3: Decimal = _ZERO
    b: Decimal = _ZERO
    energy_recovery: EnergyRecovery | None = None
    ev: Decimal | None = None

    def __post_init__(self) -> None:
        _check_range(
            self,
            ("a", "b", "r1", "r2", "r3", "qsin_qp", "qsout_qp"),
            ("e_recycled", "e_recycling_eol", "ev_star", "ed", "ev"),
        )
        if self.r2 + self.r3 > _ONE:
            raise InvalidParameterError(f"CFF r2 + r3 = {self.r2 + self.r3} exceeds 1")
        if self.r3 > _ZERO and self.energy_recovery is None:
            raise InvalidParameterError("CFF r3 > 0 needs energy_recovery")


def cut_off(share: float, burden: float) -> tuple[float, float]:
    """``(coefficient on E_v, constant)`` per input unit under the cut-off approach."""
    return 1.0 - share, share * burden


class CffTerms(NamedTuple):
    """The CFF per unit of the line, as ``coefficient·E_v + constant + end_of_life``:
    ``constant`` is what the recycled content adds (the first line of the formula),
    ``end_of_life`` the recycling credit, energy recovery and disposal terms, which a
    report puts in the end-of-life stage."""

    coefficient: float
    constant: float
    end_of_life: float


def cff(p: CffParameters) -> CffTerms:
    """The formula's terms for one line. When ``p.ev`` is given, the virgin intensity is
    that number: the coefficient is folded into the constant and the returned coefficient
    is 0 (no edge to the upstream footprint)."""
    coefficient = (_ONE - p.r1) + p.r1 * (_ONE - p.a) * p.qsin_qp
    constant = p.r1 * p.a * p.e_recycled
    end_of_life = (_ONE - p.a) * p.r2 * (p.e_recycling_eol - p.ev_star * p.qsout_qp) + (
        _ONE - p.r2 - p.r3
    ) * p.ed
    if p.energy_recovery is not None:
        end_of_life += (_ONE - p.b) * p.r3 * p.energy_recovery.net()
    if p.ev is not None:
        constant += coefficient * p.ev
        coefficient = _ZERO
    return CffTerms(float(coefficient), float(constant), float(end_of_life))
