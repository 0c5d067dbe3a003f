"""Progress of suppliers against the targets their buyers set, derived from the log.

A target fixes a metric over a scope set with a base-year and a target-year
value; suppliers report yearly inventories. Each reported year is compared
with the base value and with the straight-line path from base to target
(the usual reading of "cut 50 % by 2025": halfway in time, halfway there).
Restated inventories replace earlier ones for the same year (log order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledger.entries.carbon.targets import Inventory, Target

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class YearProgress:
    year: int
    value: Decimal | None  # None when the inventory lacks what the metric needs
    change_vs_base_percent: Decimal | None
    on_track: bool | None


@dataclass(frozen=True, slots=True)
class TargetProgress:
    target_entry_id: str
    buyer: str
    supplier: str
    metric: str
    scopes: tuple[str, ...]
    base_year: int
    base_value: Decimal
    target_year: int
    target_value: Decimal
    required_change_percent: Decimal | None
    years: tuple[YearProgress, ...]

    @property
    def latest(self) -> YearProgress | None:
        return self.years[-1] if self.years else None

    @property
    def achieved(self) -> bool | None:
        """Whether the newest reported year already meets the target value."""
        latest = self.latest
        if latest is None or latest.value is None:
            return None
        return _meets(self.metric, latest.value, self.target_value)


def metric_value(target: Target, inventory: Inventory) -> Decimal | None:
    """The inventory's value in the target's metric (None if it cannot be derived)."""
    if target.metric == "renewable-electricity-share":
        electricity = Decimal(inventory.electricityMWh)
        if electricity == 0:
            return None
        return Decimal(inventory.renewableElectricityMWh) / electricity * _HUNDRED
    by_scope = {
        "1": Decimal(inventory.scope1TCO2e),
        "2": Decimal(inventory.scope2TCO2e),
        "3": None if inventory.scope3TCO2e is None else Decimal(inventory.scope3TCO2e),
    }
    parts = [by_scope[scope] for scope in target.scopes]
    if any(part is None for part in parts):
        return None
    total = sum((p for p in parts if p is not None), Decimal(0))
    if target.metric == "absolute-tco2e":
        return total
    if inventory.productionAmount is None or inventory.productionUnit != target.intensityUnit:
        return None
    production = Decimal(inventory.productionAmount)
    return None if production == 0 else total / production


def target_progress(target: Target, inventories: Iterable[Inventory]) -> TargetProgress:
    """``inventories``: the supplier's inventory entries in log order."""
    by_year: dict[int, Inventory] = {}
    for inventory in inventories:
        if inventory.org == target.supplier:
            by_year[inventory.reportingYear] = inventory
    base = Decimal(target.baseValue)
    goal = Decimal(target.targetValue)
    years = []
    for year in sorted(y for y in by_year if y >= target.baseYear):
        value = metric_value(target, by_year[year])
        change = None if value is None or base == 0 else (value - base) / base * _HUNDRED
        on_track = None if value is None else _meets(target.metric, value, _path(target, year))
        years.append(YearProgress(year, value, change, on_track))
    return TargetProgress(
        target_entry_id=target.entryId,
        buyer=target.org,
        supplier=target.supplier,
        metric=target.metric,
        scopes=tuple(target.scopes),
        base_year=target.baseYear,
        base_value=base,
        target_year=target.targetYear,
        target_value=goal,
        required_change_percent=None if base == 0 else (goal - base) / base * _HUNDRED,
        years=tuple(years),
    )


def _path(target: Target, year: int) -> Decimal:
    """The straight-line value between base and target for ``year`` (flat after it)."""
    base, goal = Decimal(target.baseValue), Decimal(target.targetValue)
    span = target.targetYear - target.baseYear
    elapsed = min(max(year - target.baseYear, 0), span)
    return base + (goal - base) * Decimal(elapsed) / Decimal(span)


def _meets(metric: str, value: Decimal, threshold: Decimal) -> bool:
    # Shares of renewable electricity should rise; emissions and intensities should fall.
    return value >= threshold if metric == "renewable-electricity-share" else value <= threshold
