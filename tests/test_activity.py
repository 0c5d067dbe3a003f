"""Edge-collector readings: aggregation and own emissions recomputed from cited batches."""

from __future__ import annotations

from decimal import Decimal

from clients.sdk import new_entry
from graph.activity import aggregate_readings, recompute_own_emissions
from ledger.entries import parse_entry
from ledger.entries.carbon.activity import ActivityBatch
from ledger.entries.carbon.footprint import Footprint
from ledger.rules.view import FactorFacts
from tests import carbon_builders as cb

RECYCLER = "urn:pact:company:customcode:recycler"


def _reading(
    meter: str, stage: str, start: str, end: str, qty: str, unit: str, quality: str = "measured"
) -> dict[str, str]:
    return {
        "meterId": meter,
        "stage": stage,
        "intervalStart": start,
        "intervalEnd": end,
        "quantity": qty,
        "unit": unit,
        "quality": quality,
    }


def _batch(readings: list[dict[str, str]]) -> ActivityBatch:
    entry = parse_entry(
        new_entry(
            "activity.batch", RECYCLER, site="plant-1", collectorId="edge-7", readings=readings
        )
    )
    assert isinstance(entry, ActivityBatch)
    return entry


def test_readings_aggregate_per_site_stage_period_and_unit() -> None:
    batch = _batch(
        [
            _reading(
                "e1", "pretreatment", "2025-03-31T23:45:00Z", "2025-04-01T00:00:00Z", "10", "kWh"
            ),
            _reading(
                "e2",
                "pretreatment",
                "2025-03-01T00:00:00Z",
                "2025-03-01T00:15:00Z",
                "5.5",
                "kWh",
                "estimated",
            ),
            _reading("e3", "smelting", "2025-03-02T00:00:00Z", "2025-03-02T01:00:00Z", "40", "m3"),
            _reading(
                "e1", "pretreatment", "2025-04-01T00:00:00Z", "2025-04-01T00:15:00Z", "7", "kWh"
            ),
        ]
    )
    totals = {(t.stage, t.period, t.unit): t for t in aggregate_readings([batch])}
    march = totals[("pretreatment", "2025-03", "kWh")]
    assert march.quantity == Decimal("15.5") and march.readings == 2
    assert march.measured_share == Decimal("0.5")
    assert totals[("pretreatment", "2025-04", "kWh")].quantity == Decimal(7)
    assert totals[("smelting", "2025-03", "m3")].quantity == Decimal(40)


def test_own_emissions_recomputed_from_cited_batches_and_factors() -> None:
    batch = _batch(
        [
            _reading(
                "e1", "leaching", "2025-03-01T00:00:00Z", "2025-03-16T00:00:00Z", "1.2", "kWh"
            ),
            _reading(
                "e1", "leaching", "2025-03-16T00:00:00Z", "2025-04-01T00:00:00Z", "2998.8", "kWh"
            ),
            _reading("g1", "drying", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", "100", "m3"),
        ]
    )
    electricity = FactorFacts(
        "cn-default", "2024.1", "electricity-grid-cn", "kilowatt hour", "0.5366"
    )
    gas = FactorFacts("cn-default", "2024.1", "natural-gas-combustion", "cubic meter", "2.162")
    entry = cb.footprint_entry(RECYCLER, "urn:pact:product:recycler:li2co3")
    entry["composition"]["producedAmount"] = "1000"
    entry["composition"]["ownEmissions"] = [
        {
            "stage": "main-production",
            "scope": "2",
            "kgCO2e": "1.61",
            "activityBatches": [batch.entryId],
            "factors": [
                {"setId": "cn-default", "version": "2024.1", "key": "electricity-grid-cn"},
                {"setId": "cn-default", "version": "2024.1", "key": "natural-gas-combustion"},
            ],
        }
    ]
    footprint = parse_entry(entry)
    assert isinstance(footprint, Footprint)
    factors = {(f.set_id, f.version, f.key): f for f in (electricity, gas)}
    (line,) = recompute_own_emissions(footprint, {batch.entryId: batch}, factors)
    # (3000 kWh × 0.5366 + 100 m³ × 2.162) / 1000 kg = 1.826 kgCO2e per kg
    assert line.recomputed == Decimal("1.8260")
    assert line.relative_difference is not None
    assert abs(line.relative_difference - (Decimal("1.61") / Decimal("1.826") - 1)) < Decimal(
        "1e-9"
    )

    entry["composition"].pop("producedAmount")
    without_basis = parse_entry(entry)
    assert isinstance(without_basis, Footprint)
    (unknown,) = recompute_own_emissions(without_basis, {batch.entryId: batch}, factors)
    assert unknown.recomputed is None and "producedAmount" in (unknown.problem or "")
