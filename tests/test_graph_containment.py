"""A loop with no physical solution is contained: it and what consumes it answer
``NoPhysicalSolutionError``, everything else computes, and breaking the loop recovers.

The attack: a supplier closes a loop ``P1 → P2 → P1`` of one unit each (the second version of
``P1`` consumes ``P2``, which consumes ``P1``). Before containment the whole engine raised, so
every organisation's computed footprints failed until a restart — and a restart did not help.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from graph.engine import FootprintEngine
from graph.errors import NoPhysicalSolutionError
from graph.model import FootprintDeclaration
from tests.test_graph_incremental import decl

VICTIM, P1, P2, BUYER = 7, 1, 2, 3


def _loop_then_victim() -> list[FootprintDeclaration]:
    return [
        decl("victim", VICTIM, "2", []),
        decl("p1v2", P1, "1", [(P2, "1")]),
        decl("p2", P2, "1", [(P1, "1")]),
        decl("buyer", BUYER, "1", [(P1, "0.5"), (VICTIM, "1")]),
    ]


def _assert_contained(engine: FootprintEngine, loop: list[str], downstream: list[str]) -> None:
    for fid in loop + downstream:
        with pytest.raises(NoPhysicalSolutionError) as info:
            engine.result(fid)
        assert info.value.cycle == loop
        assert info.value.footprint_id == fid
        assert info.value.in_loop == (fid in loop)
        with pytest.raises(NoPhysicalSolutionError):
            engine.contributions(fid)
        with pytest.raises(NoPhysicalSolutionError):
            engine.supply(fid)
    assert set(engine.unphysical()) == set(loop + downstream)
    assert engine.total("victim") == pytest.approx(2.0)
    assert engine.result("victim").total == pytest.approx(2.0)
    assert engine.contributions("victim").kg_co2e == pytest.approx(2.0)


def test_start_up_build_over_a_loop_contains_it() -> None:
    engine = FootprintEngine(_loop_then_victim())
    engine.compute()
    _assert_contained(engine, ["p1v2", "p2"], ["buyer"])


@pytest.mark.parametrize("full_share", [1.0, 0.0], ids=["incremental", "full-recompute"])
def test_update_closing_a_loop_is_contained_and_breaking_it_recovers(full_share: float) -> None:
    engine = FootprintEngine(
        [
            decl("victim", VICTIM, "2", []),
            decl("p1v1", P1, "1", []),
            decl("p2", P2, "1", [(P1, "1")]),
            decl("buyer", BUYER, "1", [(P1, "0.5"), (VICTIM, "1")]),
        ]
    )
    engine.full_recompute_share = full_share
    engine.compute()
    engine.apply(added=[decl("p1v2", P1, "1", [(P2, "1")])], removed=["p1v1"])
    _assert_contained(engine, ["p1v2", "p2"], ["buyer"])

    # a superseding footprint that breaks the loop recovers everything, as a full compute
    engine.apply(added=[decl("p1v3", P1, "1", [(P2, "0.5")])], removed=["p1v2"])
    assert engine.unphysical() == {}
    fresh = FootprintEngine(
        [
            decl("victim", VICTIM, "2", []),
            decl("p1v3", P1, "1", [(P2, "0.5")]),
            decl("p2", P2, "1", [(P1, "1")]),
            decl("buyer", BUYER, "1", [(P1, "0.5"), (VICTIM, "1")]),
        ]
    )
    for fid, value in fresh.totals().items():
        assert engine.total(fid) == pytest.approx(value, rel=1e-12)
    assert engine.total("p1v3") == pytest.approx(3.0)  # x = 1 + 0.5 (1 + x)


@pytest.mark.parametrize("full_share", [1.0, 0.0], ids=["incremental", "full-recompute"])
def test_deprecating_a_loop_member_recovers(full_share: float) -> None:
    engine = FootprintEngine(_loop_then_victim())
    engine.full_recompute_share = full_share
    engine.compute()
    engine.apply(removed=["p1v2"])
    assert engine.unphysical() == {}
    assert engine.total("p2") == pytest.approx(1.0)  # its input is now a gap
    assert engine.total("buyer") == pytest.approx(3.0)


def test_an_update_downstream_of_a_loop_stays_contained() -> None:
    """The updated set holds a consumer of the loop but not the loop itself."""
    engine = FootprintEngine([*_loop_then_victim(), decl("other", 9, "1", [])])
    engine.compute()
    engine.apply(added=[decl("buyer2", BUYER, "1", [(P1, "0.5"), (9, "1")])], removed=["buyer"])
    _assert_contained(engine, ["p1v2", "p2"], ["buyer2"])
    engine.apply(added=[decl("other2", 9, "5", [])], removed=["other"])
    _assert_contained(engine, ["p1v2", "p2"], ["buyer2"])


@pytest.mark.parametrize(
    "amount", ["1", "2", "0.99999999999999999999999999999999", "1.0000000000000000000000000001"]
)
def test_every_impossible_loop_is_named_on_its_own(amount: str) -> None:
    """Self-loops and small loops sit in one factorisation batch; each fails on its own and
    a feasible loop next to them computes."""
    decls = [
        decl("self", 10, "1", [(10, amount)]),
        decl("a", 11, "1", [(12, amount)]),
        decl("b", 12, "1", [(11, "1")]),
        decl("ok1", 13, "1", [(14, "0.5")]),
        decl("ok2", 14, "1", [(13, "0.5")]),
        decl("c", 15, "1", [(16, "1")]),
        decl("d", 16, "1", [(15, amount)]),
    ]
    engine = FootprintEngine(decls)
    assert engine.unphysical() == {
        "self": ("self",),
        "a": ("a", "b"),
        "b": ("a", "b"),
        "c": ("c", "d"),
        "d": ("c", "d"),
    }
    assert engine.total("ok1") == pytest.approx(2.0)  # x = 1 + 0.5 (1 + 0.5 x)
    assert "nan" in repr(engine.totals()["self"])
    assert engine.flagged() == {}


def test_declared_amount_below_one_unit_is_physical() -> None:
    engine = FootprintEngine(
        [decl("p1", P1, "1", [(P2, "1")]), decl("p2", P2, "1", [(P1, str(D("0.5")))])]
    )
    assert engine.unphysical() == {}
    assert engine.total("p1") == pytest.approx(4.0)


def test_many_impossible_loops_in_separate_segments_are_all_contained() -> None:
    """Impossible loops each behind a loop-free chain (so in separate segments of the order)
    are all named, and the chains between them still compute."""
    decls = []
    for k in range(30):
        base = 100 * k
        decls.append(decl(f"feed{k}", base, "1", []))
        decls.append(decl(f"mid{k}", base + 1, "1", [(base, "1")]))
        decls.append(decl(f"a{k}", base + 2, "1", [(base + 1, "1"), (base + 3, "2")]))
        decls.append(decl(f"b{k}", base + 3, "1", [(base + 2, "1")]))
        decls.append(decl(f"after{k}", base + 4, "1", [(base + 3, "0.1")]))
    engine = FootprintEngine(decls)
    bad = engine.unphysical()
    assert set(bad) == {f"{x}{k}" for k in range(30) for x in ("a", "b", "after")}
    assert all(bad[f"after{k}"] == (f"a{k}", f"b{k}") for k in range(30))
    assert all(engine.total(f"mid{k}") == pytest.approx(2.0) for k in range(30))


def _assert_as_full_compute(engine: FootprintEngine, active: list[FootprintDeclaration]) -> None:
    full = FootprintEngine(active)
    assert engine.unphysical() == full.unphysical()
    event(f"unphysical footprints: {min(len(full.unphysical()), 3)}")
    for fid, value in full.totals().items():
        if fid not in full.unphysical():
            assert engine.total(fid) == pytest.approx(value, rel=1e-12, abs=1e-300), fid


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 8),
    st.lists(
        st.tuples(
            st.integers(0, 7),
            st.lists(
                st.tuples(st.integers(0, 7), st.sampled_from(["0.25", "0.5", "1", "2"])),
                max_size=3,
            ),
            st.sampled_from(["supersede", "deprecate"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([1.0, 0.3, 0.0]),
)
def test_updates_making_and_breaking_impossible_loops_equal_a_full_compute(
    n: int, ops: list[tuple[int, list[tuple[int, str]], str]], full_share: float
) -> None:
    """Random supersessions and deprecations that close and open impossible loops: after
    every update the engine names the same unphysical footprints, and has the same totals
    for the others, as an engine built from scratch (the start-up build)."""
    active = {p: decl(f"p{p}v0", p, "1", []) for p in range(n)}
    engine = FootprintEngine(active.values())
    engine.full_recompute_share = full_share
    engine.compute()
    for version, (product, inputs, op) in enumerate(ops, start=1):
        product %= n
        old = active.pop(product, None)
        if op == "deprecate":
            if old is not None:
                engine.apply(removed=[old.id])
        else:
            new = decl(f"p{product}v{version}", product, "1", [(p % n, a) for p, a in inputs])
            engine.apply(added=[new], removed=[old.id] if old else [])
            active[product] = new
        _assert_as_full_compute(engine, list(active.values()))
