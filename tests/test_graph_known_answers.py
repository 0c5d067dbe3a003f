"""Published known answers for x = e + Aᵀx (and a hand-derived two-product loop)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from graph.engine import FootprintEngine
from graph.model import FootprintDeclaration, FootprintRef, InputLine, OwnEmission


def fp(
    fid: str,
    unit: str,
    own: str,
    inputs: tuple[tuple[str, str, str], ...] = (),
    amount: str = "1",
) -> FootprintDeclaration:
    return FootprintDeclaration(
        id=fid,
        company_ids=(f"urn:company:{fid}",),
        product_ids=(f"urn:product:{fid}",),
        declared_unit=unit,
        declared_unit_amount=D(amount),
        own_emissions=(OwnEmission("main-production", "1", D(own)),),
        inputs=tuple(InputLine(FootprintRef(u), D(a), un) for u, a, un in inputs),
    )


def test_heijungs_suh_two_processes() -> None:
    """Heijungs & Suh (2002), ch. 2: 10 kWh need 2 l fuel and emit 1 kg CO2; 100 l fuel
    emit 10 kg CO2. Known answer: electricity 0.12 kg/kWh, fuel 0.1 kg/l."""
    engine = FootprintEngine(
        [
            fp("electricity", "kilowatt hour", "1", (("fuel", "2", "liter"),), amount="10"),
            fp("fuel", "liter", "10", amount="100"),
        ]
    )
    assert engine.total("electricity") == pytest.approx(0.12, rel=1e-12)
    assert engine.total("fuel") == pytest.approx(0.1, rel=1e-12)


def test_coal_electricity_steel_hot_rolling_cycle() -> None:
    """Cyclic system (coal ↔ electricity loop feeding iron ore, steel and hot rolling).

    Known answer per unit: coal 0.8, electricity 1.8, iron ore 1.6, steel 6, hot rolling 7.
    Coefficients: coal needs 0.2 kWh; 1 kWh needs 1 kg coal; iron ore needs 0.5 kWh;
    steel needs 1.5 kg ore, 0.5 kg coal, 1 kWh; hot rolling needs 1.05 kg steel, 1/3 kWh
    (given per 3 kg rolled product to keep the inputs decimal).
    """
    engine = FootprintEngine(
        [
            fp("coal", "kilogram", "0.44", (("electricity", "0.2", "kilowatt hour"),)),
            fp("electricity", "kilowatt hour", "1.0", (("coal", "1", "kilogram"),)),
            fp("iron-ore", "kilogram", "0.7", (("electricity", "0.5", "kWh"),)),
            fp(
                "steel",
                "kilogram",
                "1.4",
                (
                    ("iron-ore", "1.5", "kilogram"),
                    ("coal", "500", "gram"),
                    ("electricity", "3.6", "megajoule"),
                ),
            ),
            fp(
                "hot-rolling",
                "kilogram",
                "0.3",
                (("steel", "3.15", "kilogram"), ("electricity", "1", "kilowatt hour")),
                amount="3",
            ),
        ]
    )
    expected = {"coal": 0.8, "electricity": 1.8, "iron-ore": 1.6, "steel": 6.0, "hot-rolling": 7.0}
    for fid, value in expected.items():
        assert engine.total(fid) == pytest.approx(value, rel=1e-12), fid
    assert engine.plan is not None
    assert engine.plan.largest_component == 2  # the coal/electricity loop


def test_two_product_loop_with_non_unit_outputs() -> None:
    """P: 2 kg emit 3 kg and need 1 kg Q; Q: 4 kg emit 2 kg and need 2 kg P.
    Per unit: xP = 1.5 + 0.5 xQ, xQ = 0.5 + 0.5 xP  →  xP = 7/3, xQ = 5/3."""
    engine = FootprintEngine(
        [
            fp("P", "kilogram", "3", (("Q", "1", "kilogram"),), amount="2"),
            fp("Q", "kilogram", "2", (("P", "2", "kilogram"),), amount="4"),
        ]
    )
    assert engine.total("P") == pytest.approx(7 / 3, rel=1e-12)
    assert engine.total("Q") == pytest.approx(5 / 3, rel=1e-12)
    # the supply vector of one unit of P: s = δ + A s  →  sP = 1 + 0.5 sQ, sQ = 0.5 sP
    supply = engine.supply("P")
    assert supply["P"] == pytest.approx(4 / 3, rel=1e-12)
    assert supply["Q"] == pytest.approx(2 / 3, rel=1e-12)
