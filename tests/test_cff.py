"""The Circular Footprint Formula declared in footprint entries: the engine against
hand-computed cases, and through the real gRPC ledger and gateway (issue 15, item 4).

Reference case (R1 = 0.5, Ev = 10, Erecycled = 2, Qsin/Qp = Qsout/Qp = 1, R2 = 0.9,
ErecyclingEoL = 3, E*v = 10, R3 = 0, ED = 0.1), per kg of material:

    A = 0.2: 5 + 0.5·(0.2·2 + 0.8·10) + 0.8·0.9·(3 − 10) + 0.1·0.1 = 5 + 4.2 − 5.04 + 0.01 = 4.17
    A = 0.5: 5 + 3 − 3.15 + 0.01 = 4.86
    A = 0.8: 5 + 1.8 − 1.26 + 0.01 = 5.55
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.sdk import Rejected
from graph.circular import CffParameters, EndOfLifeMethod, EnergyRecovery
from graph.engine import FootprintEngine
from graph.model import FootprintDeclaration, FootprintRef, InputLine, OwnEmission, RecycledContent
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_battery_declaration import BATTERYPASS, _declaration, battery_entry
from tests.test_gateway_support import SUPPLIER_B, Env, environment, footprint_entry

VIRGIN = "urn:pact:product:cathode-b:virgin-aluminium"
PART = "urn:pact:product:recycler-a:housing"
REFERENCE: dict[str, str] = {
    "R1": "0.5",
    "Erecycled": "2",
    "QsinQp": "1",
    "QsoutQp": "1",
    "R2": "0.9",
    "ErecyclingEoL": "3",
    "EvStar": "10",
    "ED": "0.1",
}


def _params(a: str, **changes: Any) -> CffParameters:
    values = {
        "a": D(a),
        "r1": D("0.5"),
        "e_recycled": D("2"),
        "qsin_qp": D("1"),
        "qsout_qp": D("1"),
        "r2": D("0.9"),
        "e_recycling_eol": D("3"),
        "ev_star": D("10"),
        "ed": D("0.1"),
    }
    return CffParameters(**{**values, **changes})


def _total(line: InputLine, method: EndOfLifeMethod = "cff", virgin_own: str = "10") -> float:
    """The part's total: 1 kg of the line's material, whose virgin footprint is 10 kgCO2e/kg."""
    engine = FootprintEngine(_declarations(line, method, virgin_own))
    return engine.total("part")


def _declarations(
    line: InputLine, method: EndOfLifeMethod = "cff", virgin_own: str = "10"
) -> list[FootprintDeclaration]:
    virgin = FootprintDeclaration(
        id="virgin",
        company_ids=("urn:c:b",),
        product_ids=("urn:p:virgin",),
        declared_unit="kilogram",
        own_emissions=(OwnEmission("raw-material-acquisition", "3", D(virgin_own)),),
    )
    part = FootprintDeclaration(
        id="part",
        company_ids=("urn:c:a",),
        product_ids=("urn:p:part",),
        declared_unit="kilogram",
        inputs=(line,),
        end_of_life=method,
    )
    return [virgin, part]


def _cff_line(params: CffParameters) -> InputLine:
    return InputLine(FootprintRef("virgin"), D("1"), "kilogram", cff=params)


@pytest.mark.parametrize(("a", "expected"), [("0.2", 4.17), ("0.5", 4.86), ("0.8", 5.55)])
def test_hand_computed_cases_through_the_engine(a: str, expected: float) -> None:
    assert _total(_cff_line(_params(a))) == pytest.approx(expected, rel=1e-12)


def test_end_of_life_terms_go_to_the_end_of_life_stage() -> None:
    engine = FootprintEngine(_declarations(_cff_line(_params("0.5"))))
    stages = engine.result("part").by_stage
    # virgin share and recycled content: 5 + 0.5·(0.5·2 + 0.5·10); credit and disposal
    assert stages["raw-material-acquisition"] == pytest.approx(8.0, rel=1e-12)
    assert stages["end-of-life-recycling"] == pytest.approx(-3.15 + 0.01, rel=1e-12)


def test_a_equal_to_one_reduces_to_cut_off() -> None:
    cut_off = InputLine(
        FootprintRef("virgin"), D("1"), "kilogram", RecycledContent(D("0.5"), D("2"))
    )
    reference = _total(cut_off, "cut-off")
    assert reference == pytest.approx(6.0)  # 0.5·10 + 0.5·2
    # A = 1: no end-of-life credit whatever R2, only the disposal term (1 − R2 − R3)·ED
    assert _total(_cff_line(_params("1", ed=D(0)))) == pytest.approx(reference, rel=1e-12)
    assert _total(_cff_line(_params("1", ed=D(0), r2=D(0)))) == pytest.approx(reference, rel=1e-12)
    assert _total(_cff_line(_params("1"))) == pytest.approx(reference + 0.01, rel=1e-12)


def test_energy_recovery_term() -> None:
    # net = EER − LHV·(Xheat·ESEheat + Xelec·ESEelec) = 1 − 20·(0.5·0.05 + 0.2·0.1) = 0.1
    recovery = EnergyRecovery(D("1"), D("20"), D("0.5"), D("0.2"), D("0.05"), D("0.1"))
    params = _params("0.5", r3=D("0.05"), ed=D("0.2"), energy_recovery=recovery)
    # 5 + 3 − 3.15 + (1 − B)·R3·net + (1 − R2 − R3)·ED = 4.85 + 0.05·0.1 + 0.05·0.2
    assert _total(_cff_line(params)) == pytest.approx(4.865, rel=1e-12)
    halved = _params("0.5", r3=D("0.05"), ed=D("0.2"), energy_recovery=recovery, b=D("0.5"))
    assert _total(_cff_line(halved)) == pytest.approx(4.8625, rel=1e-12)  # B = 0.5


def test_a_stated_virgin_intensity_replaces_the_cited_one() -> None:
    stated = _cff_line(_params("0.5", ev=D("10")))
    assert _total(stated, virgin_own="99") == pytest.approx(4.86, rel=1e-12)


# -- through the ledger and the gateway ------------------------------------------------------


def _virgin(env: Env) -> None:
    virgin = footprint_entry(SUPPLIER_B, VIRGIN, unit="kilogram")
    virgin["composition"]["ownEmissions"] = [
        {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": "10"}
    ]
    env.submit(SUPPLIER_B, virgin)
    env.grant(SUPPLIER_B, SUPPLIER, productId=VIRGIN)  # citing needs the owner's consent


def _part(cff: dict[str, Any] | None, method: str | None = "cff") -> dict[str, Any]:
    entry = footprint_entry(SUPPLIER, PART, unit="kilogram")
    line: dict[str, Any] = {
        "productId": VIRGIN,
        "companyId": SUPPLIER_B,
        "amount": "1",
        "unit": "kilogram",
    }
    if cff is not None:
        line["cff"] = cff
    entry["composition"] = {"ownEmissions": [], "inputs": [line]}
    if method is not None:
        entry["composition"]["endOfLife"] = {"method": method}
    return entry


def test_a_cff_footprint_is_computed_and_shown_with_its_parameters(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        _virgin(env)
        part = _part({**REFERENCE, "A": "0.5"})
        env.submit(SUPPLIER, part)
        fid = part["footprint"]["id"]
        env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        with env.client(SUPPLIER) as owner, env.client(BUYER) as buyer:
            got = owner.get(f"/v1/footprints/{fid}/computed").json()
            assert got["total"] == "4.86"
            assert got["byStage"]["end-of-life-recycling"] == "-3.14"
            assert got["endOfLife"] == {
                "method": "cff",
                "inputs": [
                    {
                        "line": 0,
                        "cff": {
                            **REFERENCE,
                            "A": "0.5",
                            "B": "0",
                            "R3": "0",
                            "Ev": None,
                            "energyRecovery": None,
                        },
                    }
                ],
            }
            # Summary access: the method, not the composition's lines.
            summary = buyer.get(f"/v1/footprints/{fid}/computed").json()
            assert summary["total"] == "4.86"
            assert summary["endOfLife"] == {"method": "cff", "inputs": None}


def test_the_battery_declaration_has_the_end_of_life_terms_in_recycling(
    tmp_path: Path, db_url: str
) -> None:
    """A battery pack (own emissions 4650 kgCO2e, 50 of them end of life) with 100 kg of the
    reference material under the CFF at A = 0.5: 800 more in raw materials, 314 less in
    end of life (100 × (−3.15 + 0.01)), per 75 kWh × 60 cycles × 10 years."""
    with environment(tmp_path, db_url) as env:
        _virgin(env)
        pack = battery_entry()
        pack["composition"]["endOfLife"] = {"method": "cff"}
        line = _part({**REFERENCE, "A": "0.5"})["composition"]["inputs"][0]
        pack["composition"]["inputs"] = [{**line, "amount": "100"}]
        env.submit(SUPPLIER, pack)
        declared = _declaration(env, SUPPLIER, pack["footprint"]["id"], BATTERYPASS)
    energy = 75 * 60 * 10
    stages = {
        s["lifecycleStage"]: s["carbonFootprint"]
        for s in declared["carbonFootprintPerLifecycleStage"]
    }
    assert stages["RawMaterialExtraction"] == pytest.approx((3000 + 800) / energy, rel=1e-11)
    assert stages["Recycling"] == pytest.approx((50 - 314) / energy, rel=1e-11)
    assert declared["batteryCarbonFootprint"] == pytest.approx((4650 + 486) / energy, rel=1e-11)


def test_a_cut_off_footprint_says_so(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _virgin(env)
        part = _part(None, method=None)
        part["composition"]["inputs"][0]["recycledContent"] = {
            "share": "0.5",
            "recyclingBurdenKgCO2ePerUnit": "2",
        }
        env.submit(SUPPLIER, part)
        with env.client(SUPPLIER) as owner:
            got = owner.get(f"/v1/footprints/{part['footprint']['id']}/computed").json()
        assert got["total"] == "6"
        assert got["endOfLife"] == {"method": "cut-off", "inputs": []}


@pytest.mark.parametrize(
    ("cff", "method", "field", "text"),
    [
        ({**REFERENCE, "A": "1.5"}, "cff", "composition.inputs[0].cff.A", "pattern"),
        (
            {**{k: v for k, v in REFERENCE.items() if k != "Erecycled"}, "A": "0.5"},
            "cff",
            "composition.inputs[0].cff.Erecycled",
            "required when R1 > 0",
        ),
        (
            {**REFERENCE, "A": "0.5", "R3": "0.2", "energyRecovery": None},
            "cff",
            "composition.inputs[0].cff.R3",
            "must not exceed 1",
        ),
        (
            {**REFERENCE, "A": "0.5", "R2": "0.5", "R3": "0.2"},
            "cff",
            "composition.inputs[0].cff.energyRecovery",
            "required when R3 > 0",
        ),
        ({**REFERENCE, "A": "0.5"}, None, "composition.inputs[0].cff", 'method "cff"'),
        ({**REFERENCE, "A": "0.5", "Qsin": "1"}, "cff", "composition.inputs[0].cff.Qsin", ""),
    ],
)
def test_bad_parameters_are_refused_at_submit_naming_the_field(
    tmp_path: Path, db_url: str, cff: dict[str, Any], method: str | None, field: str, text: str
) -> None:
    with environment(tmp_path, db_url) as env:
        _virgin(env)
        size = env.server.store.tree_size()
        part = _part({k: v for k, v in cff.items() if v is not None}, method)
        with pytest.raises(Rejected) as refused:
            env.submit(SUPPLIER, part)
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert f"{field}:" in refused.value.message and text in refused.value.message
        assert env.server.store.tree_size() == size, "a refused entry writes nothing"
        with env.client(SUPPLIER) as owner:
            answer = owner.get(f"/v1/footprints/{part['footprint']['id']}/computed")
        assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
