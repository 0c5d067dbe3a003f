"""Supplier programme progress (buyer targets against yearly inventories)."""

from __future__ import annotations

from decimal import Decimal

from clients.sdk import new_entry
from graph.progress import target_progress
from ledger.entries import parse_entry
from ledger.entries.carbon.targets import Inventory, Target

BUYER = "urn:pact:company:customcode:electrical-maker"
SUPPLIER = "urn:pact:company:customcode:core-supplier"


def _inventory(
    year: int, s1: str, s2: str, mwh: str = "1000", green: str = "0", **extra: str
) -> Inventory:
    entry = parse_entry(
        new_entry(
            "inventory",
            SUPPLIER,
            reportingYear=year,
            scope1TCO2e=s1,
            scope2TCO2e=s2,
            electricityMWh=mwh,
            renewableElectricityMWh=green,
            **extra,
        )
    )
    assert isinstance(entry, Inventory)
    return entry


def _target(metric: str, base: str, goal: str, **extra: str) -> Target:
    entry = parse_entry(
        new_entry(
            "target",
            BUYER,
            supplier=SUPPLIER,
            metric=metric,
            scopes=["1", "2"],
            baseYear=2021,
            baseValue=base,
            targetYear=2025,
            targetValue=goal,
            **extra,
        )
    )
    assert isinstance(entry, Target)
    return entry


def test_minus_fifty_percent_by_2025_against_2021() -> None:
    # The programme in FIGURES.md: -50 % by 2025; the average supplier reached -42 %.
    target = _target("absolute-tco2e", "1200", "600")
    reports = [
        _inventory(2021, "700", "500"),
        _inventory(2023, "500", "400"),  # 900: path value 900 → on track
        _inventory(2024, "500", "300"),  # restated below
        _inventory(2024, "520", "300"),  # 820 > path 750 → behind
        _inventory(2025, "400", "296"),  # 696 = -42 %
    ]
    progress = target_progress(target, reports)
    assert progress.required_change_percent == Decimal(-50)
    assert [y.year for y in progress.years] == [2021, 2023, 2024, 2025]
    assert [y.on_track for y in progress.years] == [True, True, False, False]
    assert progress.years[2].value == Decimal(820)
    assert progress.latest is not None
    assert progress.latest.change_vs_base_percent == Decimal(-42)
    assert progress.achieved is False


def test_renewable_share_rises_and_intensity_needs_production() -> None:
    share = _target("renewable-electricity-share", "10", "60")
    progress = target_progress(share, [_inventory(2025, "1", "1", mwh="1575", green="1000")])
    assert progress.achieved is True
    assert progress.latest is not None and progress.latest.value is not None
    assert abs(progress.latest.value - Decimal("63.49")) < Decimal("0.01")

    intensity = _target("intensity", "2.0", "1.0", intensityUnit="t product")
    missing = target_progress(intensity, [_inventory(2023, "100", "100")])
    assert missing.latest is not None and missing.latest.value is None
    known = target_progress(
        intensity,
        [_inventory(2023, "100", "100", productionAmount="160", productionUnit="t product")],
    )
    assert known.latest is not None and known.latest.value == Decimal("1.25")
    assert known.latest.on_track is True  # path in 2023 is 1.5
