"""Figures that overflow binary floating point are refused by name, never served as a
500 (red team, 2026-12-06): each entry's values are checked alone, so acceptable values
can multiply past 1.8e308 along a supply chain. Through a real ledger and gateway on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import Env, environment, footprint_entry

HUGE = "9" * 64  # the longest decimal an entry takes: about 1e64


def _record(env: Env, product: str, inputs: list[dict[str, Any]], **extra: Any) -> str:
    entry = footprint_entry(SUPPLIER, product, unit="piece")
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": HUGE}],
        "inputs": inputs,
    }
    entry.update(extra)
    env.submit(SUPPLIER, entry)
    return str(entry["footprint"]["id"])


def test_a_chain_that_overflows_answers_422_naming_the_footprint(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        ids = [_record(env, "urn:pact:product:recycler-a:huge-0", [])]
        for n in range(1, 6):
            cite = {"footprintId": ids[-1], "amount": HUGE, "unit": "piece"}
            ids.append(_record(env, f"urn:pact:product:recycler-a:huge-{n}", [cite]))
        modest = _record(env, "urn:pact:product:recycler-a:modest", [])
        with env.client(SUPPLIER) as http:
            assert http.get(f"/v1/footprints/{ids[2]}/computed").status_code == 200  # ~1e192
            for fid in ids[4:]:  # ~1e320 and beyond
                for path in (
                    f"/v1/footprints/{fid}/computed",
                    f"/v1/footprints/{fid}/contributions",
                ):
                    answer = http.get(path)
                    assert answer.status_code == 422, answer.text
                    body = answer.json()
                    assert body["code"] == "OutOfRange" and fid in body["message"]
            assert http.get(f"/v1/footprints/{modest}/computed").json()["total"] == "1" + "0" * 64
        with env.client(BUYER) as http:  # hidden: the same NotFound as a missing footprint
            assert http.get(f"/v1/footprints/{ids[5]}/computed").status_code == 404


def test_a_battery_declaration_that_overflows_answers_422(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        tiny = "0." + "0" * 61 + "1"
        battery = {
            "usableEnergyKwh": tiny,
            "yearsOfService": tiny,
            "fullEquivalentCyclesPerYear": tiny,
            "batteryModel": "B-1",
            "manufacturingPlant": "Plant 1",
            "performanceClass": "A",
            "studyLink": "https://example.com/study",
        }
        cell = _record(env, "urn:pact:product:recycler-a:cell", [])
        cite = {"footprintId": cell, "amount": HUGE, "unit": "piece"}  # total ~1e128
        fid = _record(env, "urn:pact:product:recycler-a:pack", [cite], battery=battery)
        with env.client(SUPPLIER) as http:
            assert http.get(f"/v1/footprints/{fid}/computed").status_code == 200
            for fmt in ("batterypass-1.2.0", "catenax-battery_pass-6.1.0"):
                answer = http.get(
                    f"/v1/footprints/{fid}/battery-declaration", params={"format": fmt}
                )
                assert answer.status_code == 422, answer.text
                assert answer.json()["code"] == "OutOfRange"
