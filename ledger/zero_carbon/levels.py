"""The zero-carbon factory levels and their thresholds, with where they come from.

Chinese group standards for zero-carbon factory evaluation rate a factory by what
is left after its own reductions (issue 19):

- three stars: at least 50 % of the residual emissions offset;
- four stars: at least 80 % offset;
- five stars: 100 % renewable electricity and 100 % offset;
- six stars: 100 % renewable electricity and 100 % offset by removals.

An own reduction (absolute emissions or intensity fell against the base year or the
previous year) is a prerequisite of every level. Type I covers direct emissions and
purchased energy (scopes 1 and 2), type II adds the declared scope 3 categories. The
same claim is, elsewhere, carbon neutrality under ISO 14068-1:2023.

Thresholds are exact ``Decimal`` shares (never floats), compared
by cross-multiplication so 49.9 % is never rounded up to 50 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Level = Literal["none", "three-star", "four-star", "five-star", "six-star"]

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Threshold:
    """What a level requires beyond own reduction: shares (0 to 1) of the residual
    emissions offset (any credits) and offset by removals, and of electricity that is
    renewable."""

    level: Level
    offset_share: Decimal
    removal_share: Decimal = Decimal(0)
    renewable_share: Decimal = Decimal(0)


# Ascending: a factory holds the highest level whose every threshold it meets.
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("three-star", offset_share=Decimal("0.5")),
    Threshold("four-star", offset_share=Decimal("0.8")),
    Threshold("five-star", offset_share=ONE, renewable_share=ONE),
    Threshold("six-star", offset_share=ONE, removal_share=ONE, renewable_share=ONE),
)


def at_least(part: Decimal, whole: Decimal, share: Decimal) -> bool:
    """``part / whole >= share`` exactly; a zero ``whole`` has nothing left to cover."""
    return whole == 0 or part >= whole * share
