"""Incremental updates equal a full recompute (1e-12 relative) and touch only downstream."""

from __future__ import annotations

from decimal import Decimal as D

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.engine import FootprintEngine
from graph.errors import InvalidParameterError, NoPhysicalSolutionError, UnknownFootprintError
from graph.model import FootprintDeclaration, InputLine, OwnEmission, ProductRef


def decl(fid: str, product: int, own: str, inputs: list[tuple[int, str]]) -> FootprintDeclaration:
    """A footprint of product ``product``; inputs name products (their active footprint)."""
    return FootprintDeclaration(
        id=fid,
        company_ids=(f"urn:c:{product % 4}",),
        product_ids=(f"urn:p:{product}",),
        declared_unit="kilogram",
        own_emissions=(OwnEmission("main-production", "1", D(own)),),
        inputs=tuple(
            InputLine(ProductRef(f"urn:p:{p}", f"urn:c:{p % 4}"), D(a), "kilogram")
            for p, a in inputs
        ),
    )


amounts = st.sampled_from(["0.05", "0.1", "0.25", "0.3"])
owns = st.sampled_from(["0.5", "1", "2", "3.25"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[FootprintDeclaration], list[tuple[str, int]]]:
    """Products 0..n-1 (some without a footprint: gaps), random cyclic inputs, and ops."""
    n = draw(st.integers(2, 12))
    decls = []
    for p in range(n):
        if draw(st.booleans()) or p == 0:
            k = draw(st.integers(0, 3))
            ins = draw(st.lists(st.tuples(st.integers(0, n - 1), amounts), min_size=k, max_size=k))
            decls.append(decl(f"p{p}v0", p, draw(owns), ins))
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(["add", "supersede", "deprecate"]), st.integers(0, n - 1)),
            min_size=1,
            max_size=6,
        )
    )
    return n, decls, ops


def _assert_equal_to_full(engine: FootprintEngine, active: dict[str, FootprintDeclaration]) -> None:
    full = FootprintEngine(list(active.values()))
    got, want = engine.totals(), full.totals()
    assert got.keys() == want.keys()
    for fid, value in want.items():
        assert got[fid] == pytest.approx(value, rel=1e-12, abs=1e-300), fid


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_incremental_equals_full_recompute(
    scenario: tuple[int, list[FootprintDeclaration], list[tuple[str, int]]], data: st.DataObject
) -> None:
    n, decls, ops = scenario
    engine = FootprintEngine(decls)
    # 1.0: always the downstream-subset solve; 0.3: large updates fall back to a full pass
    engine.full_recompute_share = data.draw(st.sampled_from([1.0, 0.3]))
    engine.compute()
    active = {d.id: d for d in decls}
    version = 1
    for op, product in ops:
        current = [fid for fid, d in active.items() if d.product_ids == (f"urn:p:{product}",)]
        before = engine.totals()
        old_graph = engine.graph.copy()
        k = data.draw(st.integers(0, 3))
        ins = data.draw(st.lists(st.tuples(st.integers(0, n - 1), amounts), min_size=k, max_size=k))
        new = decl(f"p{product}v{version}", product, data.draw(owns), ins)
        version += 1
        if op == "add" or (op == "supersede" and not current):
            recomputed = engine.apply(added=[new])
            active[new.id] = new
            seeds = {new.id}
        elif op == "supersede":
            recomputed = engine.apply(added=[new], removed=current)
            for fid in current:
                del active[fid]
            active[new.id] = new
            seeds = {new.id} | {s for fid in current for s in old_graph.successors(fid)}
        else:
            if not current:
                continue
            recomputed = engine.apply(removed=current)
            for fid in current:
                del active[fid]
            seeds = {s for fid in current for s in old_graph.successors(fid)} - set(current)
        _assert_equal_to_full(engine, active)
        after = engine.totals()
        # only downstream of the change is recomputed, and everything that changed was
        downstream = {s for s in seeds if s in engine.graph}
        for s in list(downstream):
            downstream |= nx.descendants(engine.graph, s)
        assert recomputed <= downstream
        for fid, value in after.items():
            if fid not in recomputed:
                assert before[fid] == value


def test_foreground_change_recomputes_only_the_new_product() -> None:
    decls = [decl(f"p{p}v0", p, "1", [(p - 1, "0.5")] if p else []) for p in range(50)]
    engine = FootprintEngine(decls)
    engine.compute()
    top = decl("p50v0", 50, "2", [(49, "1")])
    assert engine.apply(added=[top]) == {"p50v0"}
    assert engine.total("p50v0") == pytest.approx(2 + engine.total("p49v0"))
    # superseding product 10 recomputes 10..50, nothing upstream of it
    new10 = decl("p10v1", 10, "5", [(9, "0.5")])
    recomputed = engine.apply(added=[new10], removed=["p10v0"])
    assert recomputed == {"p10v1"} | {f"p{p}v0" for p in range(11, 51)}
    _assert_equal_to_full(engine, {d.id: d for d in [*decls[:10], new10, *decls[11:], top]})


def test_deprecating_a_supplier_turns_its_consumers_into_gaps() -> None:
    engine = FootprintEngine([decl("p0v0", 0, "4", []), decl("p1v0", 1, "1", [(0, "1")])])
    assert engine.total("p1v0") == pytest.approx(5.0)
    assert engine.apply(removed=["p0v0"]) == {"p1v0"}
    assert engine.total("p1v0") == pytest.approx(1.0)
    assert [g.footprint_id for g in engine.result("p1v0").gaps] == ["p1v0"]
    engine.apply(added=[decl("p0v1", 0, "3", [])])  # the gap closes again
    assert engine.total("p1v0") == pytest.approx(4.0)
    assert engine.result("p1v0").complete


def test_an_update_creating_an_impossible_loop_is_reported_on_the_loop_only() -> None:
    engine = FootprintEngine([decl("p0v0", 0, "1", []), decl("p1v0", 1, "1", [(0, "1")])])
    engine.compute()
    engine.apply(added=[decl("p0v1", 0, "1", [(1, "1")])], removed=["p0v0"])
    with pytest.raises(NoPhysicalSolutionError) as info:
        engine.total("p1v0")
    assert info.value.cycle == ["p0v1", "p1v0"]


def test_invalid_updates_are_rejected_before_any_change() -> None:
    engine = FootprintEngine([decl("p0v0", 0, "1", [])])
    with pytest.raises(InvalidParameterError):
        engine.apply(added=[decl("p0v0", 0, "2", [])])
    with pytest.raises(UnknownFootprintError):
        engine.apply(added=[decl("p0v1", 0, "2", [])], removed=["nope"])
    assert set(engine.totals()) == {"p0v0"}
