"""Recycled content: the cut-off approach (default) and the EU PEF Circular Footprint Formula.

Both are written as ``coefficient × E_v + constant`` per unit of the input line, where ``E_v``
is the intensity of the virgin material (the referenced footprint or factor). The coefficient
becomes the matrix coefficient of the edge, the constant goes into the product's direct term;
the system therefore stays linear and the solver needs no special case.

Cut-off: ``(1 − s)·E_v + s·E_burden``.

CFF, material part (PEF method, Annex C; energy recovery and disposal terms are out of scope):
``(1 − R1)·E_v + R1·(A·E_recycled + (1 − A)·E_v·Qsin/Qp)``
``  + (1 − A)·R2·(E_recyclingEoL − E*_v·Qsout/Qp)``
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from graph.errors import InvalidParameterError

A_MIN = Decimal("0.2")
A_MAX = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class CffParameters:
    """Parameters of the Circular Footprint Formula for one input line.

    ``a`` allocation factor in [0.2, 0.8]; ``r1`` recycled content, ``r2`` recycling rate at
    end of life, ``qsin_qp``/``qsout_qp`` quality ratios, all in [0, 1]. Emission values are
    kgCO2e per unit of the input line and ≥ 0 (``ev_star`` may be any non-negative value).
    ``r1``/``e_recycled`` default to the line's ``recycledContent`` share/burden; ``ev``
    defaults to the computed intensity of the referenced footprint or factor.
    """

    a: Decimal
    r2: Decimal
    qsin_qp: Decimal
    qsout_qp: Decimal
    ev_star: Decimal
    e_recycling_eol: Decimal
    r1: Decimal | None = None
    e_recycled: Decimal | None = None
    ev: Decimal | None = None

    def __post_init__(self) -> None:
        if not A_MIN <= self.a <= A_MAX:
            raise InvalidParameterError(f"CFF A={self.a} outside [{A_MIN}, {A_MAX}]")
        for name in ("r1", "r2", "qsin_qp", "qsout_qp"):
            value = getattr(self, name)
            if value is not None and not Decimal(0) <= value <= Decimal(1):
                raise InvalidParameterError(f"CFF {name}={value} outside [0, 1]")
        for name in ("ev_star", "e_recycling_eol", "e_recycled", "ev"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidParameterError(f"CFF {name}={value} must be ≥ 0")


def cut_off(share: float, burden: float) -> tuple[float, float]:
    """``(coefficient on E_v, constant)`` per input unit under the cut-off approach."""
    return 1.0 - share, share * burden


def cff(params: CffParameters, share: float | None, burden: float | None) -> tuple[float, float]:
    """``(coefficient on E_v, constant)`` per input unit under the CFF material formula.

    When ``params.ev`` is given, the virgin intensity is that number: the coefficient is folded
    into the constant and the returned coefficient is 0 (no edge to the upstream footprint).
    """
    r1 = float(params.r1) if params.r1 is not None else share
    e_rec = float(params.e_recycled) if params.e_recycled is not None else burden
    if r1 is None or e_rec is None:
        raise InvalidParameterError("CFF needs R1 and E_recycled (or recycledContent)")
    a = float(params.a)
    coefficient = (1.0 - r1) + r1 * (1.0 - a) * float(params.qsin_qp)
    constant = r1 * a * e_rec + (1.0 - a) * float(params.r2) * (
        float(params.e_recycling_eol) - float(params.ev_star) * float(params.qsout_qp)
    )
    if params.ev is not None:
        return 0.0, constant + coefficient * float(params.ev)
    return coefficient, constant
