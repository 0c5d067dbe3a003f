"""Input model, units, graph construction, gaps and input errors."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from graph.circular import CffParameters, EndOfLifeMethod
from graph.engine import FootprintEngine
from graph.errors import InvalidParameterError, UnitConversionError, UnknownFootprintError
from graph.model import (
    DataQuality,
    EmissionFactor,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
    ProductRef,
    RecycledContent,
)
from graph.supply_graph import build_supply_graph
from graph.units import PACT_UNITS, conversion_factor, is_known_unit

GRID = EmissionFactor("cn-default", "2024.1", "electricity-grid-cn", D("0.6"), "kilowatt hour")


def decl(
    fid: str,
    *inputs: InputLine,
    own: str = "1",
    unit: str = "kilogram",
    product: str | None = None,
    company: str = "urn:c:a",
    amount: str = "1",
    end_of_life: EndOfLifeMethod = "cut-off",
) -> FootprintDeclaration:
    return FootprintDeclaration(
        id=fid,
        company_ids=(company,),
        product_ids=(product or f"urn:p:{fid}",),
        declared_unit=unit,
        declared_unit_amount=D(amount),
        own_emissions=(OwnEmission("main-production", "1", D(own)),),
        inputs=inputs,
        end_of_life=end_of_life,
    )


def line(ref: FootprintRef | ProductRef | FactorRef, amount: str, unit: str) -> InputLine:
    return InputLine(ref, D(amount), unit)


@pytest.mark.parametrize("name", sorted(PACT_UNITS))
def test_every_pact_unit_is_known_to_pint(name: str) -> None:
    assert is_known_unit(name)
    assert conversion_factor(name, name) == 1.0


def test_conversions_use_pint() -> None:
    assert conversion_factor("kilowatt hour", "megajoule") == pytest.approx(3.6)
    assert conversion_factor("g", "kilogram") == pytest.approx(1e-3)
    assert conversion_factor("ton kilometer", "kg * km") == pytest.approx(1000.0)
    assert conversion_factor("cubic meter", "liter") == pytest.approx(1000.0)
    with pytest.raises(UnitConversionError):
        conversion_factor("piece", "kilogram")
    with pytest.raises(UnitConversionError):
        conversion_factor("kilogram", "no-such-unit")


def test_duplicate_input_lines_are_summed_not_overwritten() -> None:
    graph = build_supply_graph(
        [
            decl("up"),
            decl(
                "down",
                line(FootprintRef("up"), "2", "kilogram"),
                line(FootprintRef("up"), "500", "g"),
            ),
        ]
    )
    assert graph["up"]["down"]["weight"] == pytest.approx(2.5)
    engine = FootprintEngine(
        [
            decl("up"),
            decl(
                "down",
                line(FootprintRef("up"), "2", "kilogram"),
                line(FootprintRef("up"), "500", "g"),
            ),
        ]
    )
    assert engine.total("down") == pytest.approx(1 + 2.5 * 1)


def test_amounts_are_normalised_to_one_declared_unit() -> None:
    engine = FootprintEngine(
        [
            decl("up", own="4", amount="2"),
            decl("down", line(FootprintRef("up"), "3", "kg"), own="6", amount="3"),
        ]
    )
    assert engine.total("up") == pytest.approx(2.0)  # 4 kg CO2e per 2 kg
    assert engine.total("down") == pytest.approx(2.0 + 1.0 * 2.0)  # per kg: 2 own + 1 kg × 2


def test_factor_inputs_go_into_the_direct_term() -> None:
    engine = FootprintEngine(
        [decl("cell", line(FactorRef("cn-default", "2024.1", "electricity-grid-cn"), "3.6", "MJ"))],
        [GRID],
    )
    assert engine.total("cell") == pytest.approx(1 + 0.6)
    assert engine.graph.number_of_edges() == 0


def test_product_ref_resolves_to_the_newest_active_footprint() -> None:
    ref = ProductRef("urn:p:steel", "urn:c:steelco")
    old = decl("steel-2023", own="2", product="urn:p:steel", company="urn:c:steelco")
    engine = FootprintEngine([old, decl("car", line(ref, "1", "kilogram"), own="0")])
    assert engine.total("car") == pytest.approx(2.0)


def test_missing_active_footprint_is_a_reported_gap_not_a_silent_zero() -> None:
    ref = ProductRef("urn:p:cathode", "urn:c:cathodeco")
    engine = FootprintEngine(
        [
            decl("cell", line(ref, "2", "kilogram"), own="1"),
            decl("pack", line(FootprintRef("cell"), "4", "kilogram"), own="1"),
        ]
    )
    cell = engine.result("cell")
    assert not cell.complete
    assert [(g.footprint_id, g.line, g.ref) for g in cell.gaps] == [("cell", 0, ref)]
    pack = engine.result("pack")  # downstream products see the upstream gap too
    assert [g.footprint_id for g in pack.gaps] == ["cell"]
    assert engine.problems() == {"cell": (cell.gaps, ())}


def test_unknown_footprint_and_factor_are_gaps() -> None:
    engine = FootprintEngine(
        [
            decl(
                "x",
                line(FootprintRef("nope"), "1", "kilogram"),
                line(FactorRef("s", "1", "k"), "1", "kilogram"),
            )
        ]
    )
    reasons = sorted(g.reason for g in engine.result("x").gaps)
    assert reasons == ["footprint is not active", "unknown emission factor"]


def test_unit_mismatch_is_an_error_of_the_product_not_a_crash() -> None:
    engine = FootprintEngine(
        [
            decl("bolt", unit="piece", own="0.1"),
            decl("car", line(FootprintRef("bolt"), "3", "kilogram")),
        ]
    )
    car = engine.result("car")
    assert len(car.errors) == 1
    assert car.errors[0].footprint_id == "car"
    assert "piece" in car.errors[0].message
    assert engine.total("car") == pytest.approx(1.0)
    assert engine.total("bolt") == pytest.approx(0.1)


def test_recycled_content_cut_off() -> None:
    rc = RecycledContent(D("0.25"), D("1.4"))
    engine = FootprintEngine(
        [
            decl("cathode", own="10"),
            decl("cell", InputLine(FootprintRef("cathode"), D("2"), "kilogram", rc), own="0"),
        ]
    )
    # virgin 75 % carries the cathode footprint, recycled 25 % only its burden
    assert engine.total("cell") == pytest.approx(2 * (0.75 * 10 + 0.25 * 1.4))


def test_recycled_content_cff() -> None:
    params = CffParameters(
        a=D("0.5"),
        r1=D("0.25"),
        e_recycled=D("1.4"),
        r2=D("0.6"),
        qsin_qp=D("0.9"),
        qsout_qp=D("0.8"),
        ev_star=D("10"),
        e_recycling_eol=D("2"),
        ed=D("0.5"),
    )
    line = InputLine(FootprintRef("cathode"), D("2"), "kilogram", cff=params)
    decls = [decl("cathode", own="10"), decl("cell", line, own="0", end_of_life="cff")]
    ev, r1, a = 10.0, 0.25, 0.5
    per_kg = (
        (1 - r1) * ev
        + r1 * (a * 1.4 + (1 - a) * ev * 0.9)
        + (1 - a) * 0.6 * (2 - 10 * 0.8)
        + (1 - 0.6) * 0.5
    )
    assert FootprintEngine(decls).total("cell") == pytest.approx(2 * per_kg)


def test_cff_lines_need_the_cff_method() -> None:
    params = CffParameters(*(D("0.5"),) * 8)
    with pytest.raises(InvalidParameterError, match="cut-off"):
        decl("cell", InputLine(FootprintRef("cathode"), D("2"), "kilogram", cff=params))
    with pytest.raises(InvalidParameterError, match="R1"):
        InputLine(FootprintRef("c"), D("2"), "kilogram", RecycledContent(D("0.2"), D("1")), params)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("a", "1.1"),
        ("a", "-0.1"),
        ("r2", "1.5"),
        ("qsin_qp", "-0.1"),
        ("ev_star", "-1"),
        ("r3", "0.6"),
        ("ed", "-0.1"),
    ],
)
def test_cff_parameter_ranges_are_validated(field: str, value: str) -> None:
    kwargs = {
        "a": D("0.5"),
        "r1": D("0.5"),
        "r2": D("0.5"),
        "qsin_qp": D("1"),
        "qsout_qp": D("1"),
        "ev_star": D("1"),
        "e_recycling_eol": D("1"),
        "ed": D("1"),
    }
    kwargs[field] = D(value)
    with pytest.raises(InvalidParameterError, match=field.split("_")[0]):
        CffParameters(**kwargs)


def test_invalid_model_values_are_rejected() -> None:
    with pytest.raises(InvalidParameterError):
        decl("x", amount="0")
    with pytest.raises(InvalidParameterError):
        InputLine(FootprintRef("x"), D("-1"), "kilogram")
    with pytest.raises(InvalidParameterError):
        RecycledContent(D("1.2"), D("0"))


def test_unknown_id_is_a_typed_error() -> None:
    engine = FootprintEngine([decl("x")])
    with pytest.raises(UnknownFootprintError):
        engine.total("y")
    with pytest.raises(UnknownFootprintError):
        engine.apply(removed=["y"])


def test_example_ledger_entry_shape() -> None:
    """The LFP cell example of the shared data: 2.9 kg own, cathode (gap), anode, grid."""
    engine = FootprintEngine(
        [
            FootprintDeclaration(
                id="lfp-cell",
                company_ids=("urn:pact:company:customcode:example-cell-co",),
                product_ids=("urn:pact:product:example-cell-co:lfp-280ah",),
                declared_unit="kilowatt hour",
                own_emissions=(
                    OwnEmission("main-production", "1", D("0.9")),
                    OwnEmission("main-production", "2", D("2.0")),
                ),
                inputs=(
                    InputLine(
                        ProductRef(
                            "urn:pact:product:example-cathode-co:lfp-cathode",
                            "urn:pact:company:customcode:example-cathode-co",
                        ),
                        D("2.1"),
                        "kilogram",
                        RecycledContent(D("0.25"), D("1.4")),
                    ),
                    InputLine(FootprintRef("anode"), D("1.3"), "kilogram"),
                    InputLine(
                        FactorRef("cn-default", "2024.1", "electricity-grid-cn"),
                        D("3.7"),
                        "kilowatt hour",
                    ),
                ),
                declared_pcf=D("71.4"),
                dqr=DataQuality(D("1.8"), D("1.5"), D("1.2")),
            ),
            decl("anode", own="5"),
        ],
        [GRID],
    )
    result = engine.result("lfp-cell")
    expected = 2.9 + 1.3 * 5 + 3.7 * 0.6  # the cathode line is a gap: nothing, not even its burden
    assert result.total == pytest.approx(expected)
    assert len(result.gaps) == 1  # the cathode has no active footprint
    assert result.flagged  # declared 71.4 vs computed ≈ 12.4
