"""The EU Battery Regulation declaration (``/v1/footprints/{id}/battery-declaration`` and
``carbonledger export battery-declaration``) through a real ledger and gateway on both
backends: both battery passport formats validate against the published schemas and
carry the functional unit computed by hand; access is the computed route's; bad battery
facts are refused by the ledger naming the field, with nothing recorded."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.sdk import Rejected
from tests import export_schemas
from tests.cli_process import run_cli
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, Env, environment, footprint_entry

PACK = "urn:pact:product:recycler-a:lfp-pack-75kwh"
MODULE = "urn:pact:product:recycler-a:lfp-module"
BATTERYPASS = "batterypass-1.2.0"
CATENAX = "catenax-battery_pass-6.1.0"
# kgCO2e per declared unit by Regulation stage (own emissions): 4650 in all.
STAGES = {
    "raw-material-acquisition": "3000",
    "main-production": "1500",
    "distribution": "100",
    "end-of-life-recycling": "50",
}
FACTS: dict[str, Any] = {
    "usableEnergyKwh": "75",
    "yearsOfService": "10",
    "vehicleCategory": "M1",  # 60 full equivalent cycles a year by default
    "batteryModel": "LFP-75 pack",
    "manufacturingPlant": "Pack plant 1, Ningde",
    "manufacturingPlantBpna": "BPNA1234567890AB",
    "studyLink": "https://example.com/pcf-study/lfp-75.pdf",
    "performanceClass": "B",
}


def battery_entry(
    product: str = PACK,
    unit: str = "piece",
    battery: dict[str, Any] | None = FACTS,
    stages: dict[str, str] = STAGES,
) -> dict[str, Any]:
    entry = footprint_entry(SUPPLIER, product, unit=unit)
    entry["composition"]["ownEmissions"] = [
        {"stage": stage, "scope": "3", "kgCO2e": kg} for stage, kg in stages.items()
    ]
    if battery is not None:
        entry["battery"] = battery
    return entry


def _declaration(env: Env, org: str, fid: str, fmt: str) -> Any:
    with env.client(org) as http:
        answer = http.get(f"/v1/footprints/{fid}/battery-declaration", params={"format": fmt})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_both_formats_validate_and_carry_the_functional_unit(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        pack = battery_entry()
        env.submit(SUPPLIER, pack)
        fid = pack["footprint"]["id"]
        env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)

        # Hand computation: 4650 kgCO2e per battery / (75 kWh × 60 cycles × 10 years),
        # served to 12 significant digits.
        energy = 75 * 60 * 10
        bp = _declaration(env, BUYER, fid, BATTERYPASS)
        assert export_schemas.errors(export_schemas.batterypass(), bp) == []
        assert bp["batteryCarbonFootprint"] == pytest.approx(4650 / energy, rel=1e-11)
        assert bp["absoluteCarbonFootprint"] == pytest.approx(4650, rel=1e-11)
        by_stage = {
            s["lifecycleStage"]: s["carbonFootprint"]
            for s in bp["carbonFootprintPerLifecycleStage"]
        }
        assert by_stage == pytest.approx(
            {
                "RawMaterialExtraction": 3000 / energy,
                "MainProduction": 1500 / energy,
                "Distribution": 100 / energy,
                "Recycling": 50 / energy,
            },
            rel=1e-11,
        )
        assert sum(by_stage.values()) == pytest.approx(bp["batteryCarbonFootprint"], rel=1e-11)
        assert bp["carbonFootprintPerformanceClass"] == "B"
        assert bp["carbonFootprintStudy"] == FACTS["studyLink"]

        cx = _declaration(env, BUYER, fid, CATENAX)
        assert export_schemas.errors(export_schemas.catenax_battery_carbon_footprint(), cx) == []
        values = {e["lifecycle"]: e["value"] for e in cx}
        total = values.pop("all life cycle stages (total)")
        assert total == pytest.approx(4650 / energy, rel=1e-11)
        assert values == pytest.approx(
            {
                "raw material acquisition and pre-processing": 3000 / energy,
                "main product production": 1500 / energy,
                "distribution": 100 / energy,
                "end of life and recycling": 50 / energy,
            },
            rel=1e-11,
        )
        assert sum(values.values()) == pytest.approx(total, rel=1e-11)
        for entity in cx:
            assert entity["unit"] == "kg CO2e / kWh" and entity["type"] == "Climate Change Total"
            assert entity["manufacturingPlant"] == [{"facility": FACTS["manufacturingPlantBpna"]}]
            assert entity["performanceClass"] == "B"
            assert [d["content"] for d in entity["declaration"]] == [FACTS["studyLink"]]

        # The owner (detail access) gets the same declaration as the summary grantee.
        assert _declaration(env, SUPPLIER, fid, BATTERYPASS) == bp


def test_energy_declared_unit_with_declared_cycles(tmp_path: Path, db_url: str) -> None:
    """A footprint per kWh of usable energy, with the manufacturer's own cycles: the
    declared unit is a kWh of capacity, the battery 300 kWh."""
    facts = {
        "usableEnergyKwh": "300",
        "yearsOfService": "8",
        "fullEquivalentCyclesPerYear": "250",
        "batteryModel": "LFP-300 truck pack",
        "manufacturingPlant": "Pack plant 2",
        "studyLink": "https://example.com/pcf-study/lfp-300",
    }
    stages = {"raw-material-acquisition": "40", "main-production": "20"}
    with environment(tmp_path, db_url) as env:
        pack = battery_entry(MODULE, "kilowatt hour", facts, stages)
        env.submit(SUPPLIER, pack)
        fid = pack["footprint"]["id"]
        cx = _declaration(env, SUPPLIER, fid, CATENAX)
        assert export_schemas.errors(export_schemas.catenax_battery_carbon_footprint(), cx) == []
        # 60 kgCO2e per kWh of capacity / (250 cycles × 8 years).
        assert cx[0]["value"] == pytest.approx(60 / 2000, rel=1e-11)
        assert {"manufacturingPlant": [], "lifecycle": "distribution", "value": 0.0}.items() <= (
            cx[3].items()
        )
        assert all("performanceClass" not in e for e in cx)

        # The Battery Pass aspect requires a performance class, which these facts lack.
        with env.client(SUPPLIER) as http:
            refused = http.get(
                f"/v1/footprints/{fid}/battery-declaration", params={"format": BATTERYPASS}
            )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "NotExportable"
        assert "battery.performanceClass" in refused.json()["message"]


def test_access_format_and_non_battery_refusals(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        pack = battery_entry()
        env.submit(SUPPLIER, pack)
        fid = pack["footprint"]["id"]
        plain = footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:copper")
        env.submit(SUPPLIER, plain)
        env.grant(SUPPLIER, BUYER, "summary", footprintId=plain["footprint"]["id"])
        with env.client(OTHER_BUYER) as other, env.client(BUYER) as buyer:
            # Hidden and missing answer the same NotFound, as the computed route does.
            answers = [
                other.get(f"/v1/footprints/{f}/{route}")
                for f in (fid, str(uuid.uuid4()))
                for route in ("battery-declaration", "computed")
            ]
            assert {(a.status_code, a.text) for a in answers} == {
                (
                    404,
                    json.dumps(
                        {"code": "NotFound", "message": "no such computed footprint"},
                        separators=(",", ":"),
                    ),
                )
            }
            bad = buyer.get(
                f"/v1/footprints/{plain['footprint']['id']}/battery-declaration",
                params={"format": "batterypass-9"},
            )
            assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"
            assert "format" in bad.json()["message"]
            not_battery = buyer.get(
                f"/v1/footprints/{plain['footprint']['id']}/battery-declaration"
            )
            assert not_battery.status_code == 422, not_battery.text
            assert not_battery.json()["code"] == "NotExportable"
            assert "not a battery footprint" in not_battery.json()["message"]


BAD_FACTS = [
    ({"usableEnergyKwh": "0"}, "battery.usableEnergyKwh"),
    ({"yearsOfService": "-1"}, "battery.yearsOfService"),
    ({"vehicleCategory": "L3"}, "battery.vehicleCategory"),
    ({"vehicleCategory": None}, "battery.fullEquivalentCyclesPerYear"),
    ({"manufacturingPlantBpna": "BPNL1234567890AB"}, "battery.manufacturingPlantBpna"),
    ({"studyLink": "ftp://example.com/study"}, "battery.studyLink"),
    ({"performanceClass": "best"}, "battery.performanceClass"),
    ({"batteryModel": None}, "battery.batteryModel"),
    ({"colour": "red"}, "battery.colour"),
]


def test_bad_battery_facts_are_refused_naming_the_field(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        cases = [(battery_entry(battery={**FACTS, **change}), field) for change, field in BAD_FACTS]
        for case in cases:
            case[0]["battery"] = {k: v for k, v in case[0]["battery"].items() if v is not None}
        # Battery facts on a footprint per kilogram: no battery can be counted.
        cases.append((battery_entry(unit="kilogram"), "battery"))
        for entry, field in cases:
            with pytest.raises(Rejected) as refused:
                env.submit(SUPPLIER, entry)
            assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT, refused.value
            assert refused.value.message.startswith(f"{field}: "), refused.value
        with env.client(SUPPLIER) as owner:  # nothing recorded
            assert owner.get("/3/footprints").json() == {"data": []}


def test_cli_export_battery_declaration(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        pack = battery_entry()
        env.submit(SUPPLIER, pack)
        fid = pack["footprint"]["id"]
        env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        client_id, secret = env.credentials(BUYER)
        login = {"CARBONLEDGER_CLIENT_ID": client_id, "CARBONLEDGER_CLIENT_SECRET": secret}
        for fmt, validator in (
            (BATTERYPASS, export_schemas.batterypass()),
            (CATENAX, export_schemas.catenax_battery_carbon_footprint()),
        ):
            done = run_cli(
                "export",
                "battery-declaration",
                fid,
                "--gateway",
                env.url,
                "--format",
                fmt,
                env=login,
            )
            assert done.returncode == 0, done.stderr
            printed = json.loads(done.stdout)
            assert export_schemas.errors(validator, printed) == []
            assert printed == _declaration(env, BUYER, fid, fmt)
        missing = run_cli(
            "export", "battery-declaration", str(uuid.uuid4()), "--gateway", env.url, env=login
        )
        assert missing.returncode == 1 and missing.stdout == ""
        assert "NotFound: no such computed footprint" in missing.stderr
