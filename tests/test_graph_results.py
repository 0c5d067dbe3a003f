"""Breakdowns, primary data share, DQRs, declared-vs-computed, contribution trees, battery."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.battery import REGULATION_STAGES, battery_declaration, battery_footprint
from graph.contributions import ContributionNode
from graph.engine import FootprintEngine
from graph.errors import InvalidParameterError
from graph.model import (
    STAGES,
    DataQuality,
    EmissionFactor,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
)

GRID = EmissionFactor("s", "1", "grid", D("0.5"), "kilowatt hour", DataQuality(D("3"), D("3")))


def decl(
    fid: str,
    *inputs: tuple[str, str],
    own: tuple[tuple[str, str, str], ...] = (("main-production", "1", "1"),),
    company: str | None = None,
    unit: str = "kilogram",
    factor_kwh: str | None = None,
    declared: str | None = None,
    dqr: DataQuality | None = None,
) -> FootprintDeclaration:
    lines = [InputLine(FootprintRef(u), D(a), "kilogram") for u, a in inputs]
    if factor_kwh is not None:
        lines.append(InputLine(FactorRef("s", "1", "grid"), D(factor_kwh), "kWh", scope="2"))
    return FootprintDeclaration(
        id=fid,
        company_ids=(company or f"urn:c:{fid}",),
        product_ids=(f"urn:p:{fid}",),
        declared_unit=unit,
        own_emissions=tuple(OwnEmission(s, sc, D(v)) for s, sc, v in own),  # type: ignore[arg-type]
        inputs=tuple(lines),
        declared_pcf=D(declared) if declared is not None else None,
        dqr=dqr or DataQuality(),
    )


def test_breakdowns_by_stage_scope_supplier_and_tier_on_a_chain() -> None:
    engine = FootprintEngine(
        [
            decl("ore", own=(("raw-material-acquisition", "1", "2"),)),
            decl("metal", ("ore", "3"), own=(("main-production", "2", "1"),)),
            decl("part", ("metal", "0.5"), own=(("distribution", "3", "0.25"),)),
        ]
    )
    r = engine.result("part", max_tier=3)
    assert r.total == pytest.approx(0.25 + 0.5 * (1 + 3 * 2))
    assert r.by_stage == pytest.approx(
        {
            "raw-material-acquisition": 3.0,
            "main-production": 0.5,
            "distribution": 0.25,
            "end-of-life-recycling": 0.0,
        }
    )
    assert r.by_scope == pytest.approx({"1": 3.0, "2": 0.5, "3": 0.25})
    assert r.by_supplier == pytest.approx(
        {"urn:c:ore": 3.0, "urn:c:metal": 0.5, "urn:c:part": 0.25}
    )
    assert r.by_tier == pytest.approx({"0": 0.25, "1": 0.5, "2": 3.0, "3+": 0.0}, abs=1e-12)
    assert r.primary_data_share == pytest.approx(100.0)


def test_primary_share_and_dqr_are_weighted_by_contribution() -> None:
    engine = FootprintEngine(
        [
            decl("a", own=(("main-production", "1", "3"),), dqr=DataQuality(D("1"), D("2"))),
            decl("b", ("a", "1"), own=(), factor_kwh="2", dqr=DataQuality(D("2"))),
        ],
        [GRID],
    )
    r = engine.result("b")
    assert r.total == pytest.approx(4.0)
    assert r.primary_data_share == pytest.approx(75.0)  # 3 from a's footprint, 1 from a factor
    # technological: a (1.0, weight 3) and the grid factor (3.0, weight 1)
    assert r.dqr["technological"] == pytest.approx((3 * 1 + 1 * 3) / 4)
    assert r.dqr["geographical"] == pytest.approx((3 * 2 + 1 * 3) / 4)
    assert "temporal" not in r.dqr
    assert r.by_scope["2"] == pytest.approx(1.0)  # the factor line is declared as scope 2


def test_declared_vs_computed_is_flagged_beyond_tolerance() -> None:
    decls = [
        decl("ok", declared="1.04"),
        decl("off", declared="1.2"),
        decl("none"),
    ]
    engine = FootprintEngine(decls)
    assert engine.result("ok").relative_difference == pytest.approx(1 / 1.04 - 1)
    assert not engine.result("ok").flagged
    assert engine.result("off").flagged
    assert engine.result("none").relative_difference is None
    assert set(engine.flagged()) == {"off"}
    assert set(FootprintEngine(decls, tolerance=0.25).flagged()) == set()


def _tree_sums(node: ContributionNode) -> None:
    if node.children:
        assert sum(c.kg_co2e for c in node.children) == pytest.approx(node.kg_co2e, rel=1e-9)
        for child in node.children:
            _tree_sums(child)


def _kinds(node: ContributionNode) -> list[str]:
    return [node.kind] + [k for c in node.children for k in _kinds(c)]


def test_contribution_tree_adds_up_through_a_recycling_loop() -> None:
    engine = FootprintEngine(
        [
            decl("li2co3", ("recycling", "0.3")),
            decl("cathode", ("li2co3", "0.5"), factor_kwh="4"),
            decl("cell", ("cathode", "2")),
            decl("recycling", ("cell", "0.1")),  # recovered Li2CO3 goes back into cathodes
        ],
        [GRID],
    )
    tree = engine.contributions("cell", cutoff=0.0, max_depth=10)
    assert tree.kg_co2e == pytest.approx(engine.total("cell"))
    assert tree.share == pytest.approx(1.0)
    _tree_sums(tree)
    assert _kinds(tree).count("cycle") == 1  # the loop is shown once
    shallow = engine.contributions("cell", cutoff=0.2, max_depth=1)
    _tree_sums(shallow)
    assert all(not c.children for c in shallow.children)
    assert sum(c.share for c in shallow.children) == pytest.approx(1.0)


@st.composite
def random_engines(draw: st.DrawFn) -> FootprintEngine:
    n = draw(st.integers(1, 15))
    decls = []
    for i in range(n):
        k = draw(st.integers(0, 3))
        ups = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
        amounts = draw(
            st.lists(st.sampled_from(["0.05", "0.1", "0.2", "0.3"]), min_size=k, max_size=k)
        )
        own = tuple(
            (
                draw(st.sampled_from(STAGES)),
                draw(st.sampled_from(["1", "2", "3"])),
                draw(st.sampled_from(["0.5", "1", "2"])),
            )
            for _ in range(draw(st.integers(1, 3)))
        )
        decls.append(
            decl(
                f"f{i}",
                *((f"f{u}", a) for u, a in zip(ups, amounts, strict=True)),
                own=own,
                company=f"urn:c:{i % 3}",
                factor_kwh=draw(st.sampled_from([None, "1"])),
            )
        )
    return FootprintEngine(decls, [GRID])


@settings(max_examples=60, deadline=None)
@given(random_engines())
def test_every_breakdown_adds_up_to_the_total(engine: FootprintEngine) -> None:
    for fid in engine.graph.nodes:
        r = engine.result(fid, max_tier=4)
        for parts in (r.by_stage, r.by_scope, r.by_supplier, r.by_tier):
            assert sum(parts.values()) == pytest.approx(r.total, rel=1e-9)
        assert all(v >= -1e-12 for v in r.by_tier.values())
        supply = engine.supply(fid)
        assert supply[fid] >= 1.0 - 1e-12
        _tree_sums(engine.contributions(fid, cutoff=0.05, max_depth=3, max_children=3))


def test_battery_per_kwh_and_regulation_stage_shares() -> None:
    engine = FootprintEngine(
        [
            decl(
                "pack",
                unit="kilowatt hour",
                own=(
                    ("raw-material-acquisition", "3", "60"),
                    ("main-production", "1", "30"),
                    ("distribution", "3", "6"),
                    ("end-of-life-recycling", "3", "4"),
                ),
            ),
            decl("module", unit="piece", own=(("main-production", "1", "50"),)),
        ]
    )
    b = battery_footprint(engine.result("pack"))
    assert b.kg_co2e_per_kwh == pytest.approx(100.0)
    assert b.stage_shares == pytest.approx(
        {REGULATION_STAGES[s]: v for s, v in zip(STAGES, (0.6, 0.3, 0.06, 0.04), strict=True)}
    )
    assert sum(b.stage_shares.values()) == pytest.approx(1.0)
    per_piece = battery_footprint(engine.result("module"), energy_kwh_per_declared_unit=2.5)
    assert per_piece.kg_co2e_per_kwh == pytest.approx(20.0)
    with pytest.raises(InvalidParameterError):
        battery_footprint(engine.result("module"))
    assert np.isclose(battery_footprint(engine.result("pack"), 2.0).kg_co2e_per_kwh, 50.0)


def test_battery_declaration_per_kwh_of_service_life_energy() -> None:
    engine = FootprintEngine(
        [
            decl("pack", unit="piece", own=(("main-production", "1", "4800"),)),
            decl("per-kwh", unit="megajoule", own=(("raw-material-acquisition", "3", "36"),)),
        ]
    )
    # 4800 kgCO2e per battery / (80 kWh × 60 cycles × 10 years) = 0.1 kgCO2e per kWh.
    piece = battery_declaration(engine.result("pack"), 80.0, 60.0, 10.0)
    assert piece.per_kwh.kg_co2e_per_kwh == pytest.approx(0.1)
    assert piece.kg_co2e_per_battery == pytest.approx(4800.0)
    assert piece.service_life_energy_kwh == pytest.approx(48000.0)
    # Per MJ of usable energy: 36 kgCO2e/MJ = 129.6 kgCO2e per kWh of capacity, over 2000
    # cycles; the 50 kWh battery as a whole is 50 × 129.6 kgCO2e.
    energy = battery_declaration(engine.result("per-kwh"), 50.0, 250.0, 8.0)
    assert energy.per_kwh.kg_co2e_per_kwh == pytest.approx(129.6 / 2000)
    assert energy.kg_co2e_per_battery == pytest.approx(50 * 129.6)
    with pytest.raises(InvalidParameterError):
        battery_declaration(engine.result("pack"), 80.0, 0.0, 10.0)
