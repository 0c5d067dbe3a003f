"""Metered activity data: aggregation, and own emissions recomputed from it.

Edge collectors sign batches of readings (site, stage, meter, interval,
quantity, unit, quality). Totals aggregate per site, stage, period and unit.
A footprint's own emission line may cite the batches and the factors it was
computed from; with the composition's ``producedAmount`` (declared units made
over the metered period) as allocation basis, the line is recomputed as

    kgCO2e per declared unit amount
        = Σ readings (quantity converted to the factor's unit × factor value)
          / producedAmount × declaredUnitAmount

where each reading uses the first cited factor whose unit its unit converts to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from ledger.entries.carbon.activity import GENERATION_STAGE, ActivityBatch
from ledger.entries.carbon.common import instant
from ledger.entries.carbon.footprint import Footprint
from ledger.rules.view import FactorFacts
from ledger.units import UnitConversionError, conversion_factor

Period = Literal["day", "month", "year"]
FactorKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ActivityTotal:
    site: str
    stage: str
    period: str
    unit: str
    quantity: Decimal
    readings: int
    measured_share: Decimal  # share of readings flagged "measured" (vs estimated/forecast)


_PERIOD_FORMATS: dict[Period, str] = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def _period_label(moment: datetime, period: Period) -> str:
    return moment.astimezone(UTC).strftime(_PERIOD_FORMATS[period])


def aggregate_readings(
    batches: Iterable[ActivityBatch], *, period: Period = "month"
) -> list[ActivityTotal]:
    """Totals per site, stage, period (of each interval's start, UTC) and unit."""
    sums: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0)]
    )
    for batch in batches:
        for reading in batch.readings:
            label = _period_label(instant(reading["intervalStart"]), period)
            total = sums[(batch.site, reading["stage"], label, reading["unit"])]
            total[0] += Decimal(reading["quantity"])
            total[1] += 1
            total[2] += 1 if reading["quality"] == "measured" else 0
    return [
        ActivityTotal(site, stage, label, unit, qty, int(count), measured / count)
        for (site, stage, label, unit), (qty, count, measured) in sorted(sums.items())
    ]


@dataclass(frozen=True, slots=True)
class RecomputedOwnEmission:
    stage: str
    scope: str
    declared: Decimal
    recomputed: Decimal | None
    relative_difference: Decimal | None
    problem: str | None = None


def recompute_own_emissions(
    footprint: Footprint,
    batches: Mapping[str, ActivityBatch],
    factors: Mapping[FactorKey, FactorFacts],
) -> list[RecomputedOwnEmission]:
    """Each own-emission line that cites activity batches, recomputed from them."""
    composition = footprint.composition
    per_amount = Decimal(footprint.footprint.pcf.declaredUnitAmount)
    results = []
    for own in composition.ownEmissions:
        if not own.activityBatches:
            continue
        declared = Decimal(own.kgCO2e)
        try:
            if composition.producedAmount is None:
                raise ValueError("composition.producedAmount (the allocation basis) is missing")
            cited = [factors[(f.setId, f.version, f.key)] for f in own.factors or ()]
            total = sum(
                (
                    _reading_emissions(reading["quantity"], reading["unit"], cited)
                    for batch_id in own.activityBatches
                    for reading in batches[batch_id].readings
                    # Generation is what the site produced, not what it consumed.
                    if reading["stage"] != GENERATION_STAGE
                ),
                Decimal(0),
            )
        except (KeyError, ValueError) as exc:
            results.append(
                RecomputedOwnEmission(own.stage, own.scope, declared, None, None, str(exc))
            )
            continue
        value = total / Decimal(composition.producedAmount) * per_amount
        difference = None if value == 0 else (declared - value) / value
        results.append(RecomputedOwnEmission(own.stage, own.scope, declared, value, difference))
    return results


def _reading_emissions(quantity: str, unit: str, cited: list[FactorFacts]) -> Decimal:
    for factor in cited:
        try:
            scale = conversion_factor(unit, factor.unit)
        except UnitConversionError:
            continue
        return Decimal(quantity) * Decimal(repr(scale)) * Decimal(factor.value)
    raise ValueError(f"no cited factor converts from {unit!r}")
