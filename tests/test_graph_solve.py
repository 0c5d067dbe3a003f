"""The linear algebra against dense numpy solves, and the no-physical-solution check."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.engine import FootprintEngine
from graph.errors import NoPhysicalSolutionError
from graph.model import FootprintDeclaration, FootprintRef, InputLine, OwnEmission
from graph.small_loops import SMALL_LOOP
from graph.solve import build_plan

#: every loop by sparse LU, and loops of up to ``SMALL_LOOP`` footprints in closed form
SMALL_LOOP_LIMITS = pytest.mark.parametrize("small_loop", [0, SMALL_LOOP])


@st.composite
def cyclic_systems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Random sparse non-negative M (with loops, self-loops) scaled to ρ(M) < 1, and rhs."""
    n = draw(st.integers(1, 40))
    m_edges = draw(st.integers(0, 4 * n))
    rows = draw(st.lists(st.integers(0, n - 1), min_size=m_edges, max_size=m_edges))
    cols = draw(st.lists(st.integers(0, n - 1), min_size=m_edges, max_size=m_edges))
    vals = draw(st.lists(st.floats(0.01, 5.0), min_size=m_edges, max_size=m_edges))
    m = np.zeros((n, n))
    for r, c, v in zip(rows, cols, vals, strict=True):
        m[r, c] += v
    rho = max(abs(np.linalg.eigvals(m))) if n else 0.0
    if rho > 0:
        m *= draw(st.floats(0.05, 0.95)) / rho
    rhs = np.array(draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
    return m, rhs


@SMALL_LOOP_LIMITS
@settings(max_examples=200, deadline=None)
@given(system=cyclic_systems())
def test_solution_equals_dense_solve(
    system: tuple[np.ndarray, np.ndarray], small_loop: int
) -> None:
    m, rhs = system
    n = m.shape[0]
    plan = build_plan(sp.csr_array(m), [str(i) for i in range(n)], small_loop=small_loop)
    block = np.column_stack([rhs, 1.0 - rhs])  # several right-hand sides at once
    x = plan.solve(block)
    expected = np.linalg.solve(np.eye(n) - m, block)
    np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-9 * max(1.0, abs(expected).max()))
    scale = max(1.0, abs(x).max())
    np.testing.assert_allclose(plan.solve(rhs), x[:, 0], rtol=1e-12, atol=1e-12 * scale)


@SMALL_LOOP_LIMITS
@settings(max_examples=100, deadline=None)
@given(system=cyclic_systems(), factor=st.floats(1.0 + 1e-6, 3.0))
def test_spectral_radius_at_least_one_is_rejected(
    system: tuple[np.ndarray, np.ndarray], factor: float, small_loop: int
) -> None:
    """From just above 1: ``eigvals`` of a non-normal matrix is accurate only to ≈1e-8, so
    a matrix scaled to "ρ = 1" may truly have ρ = 1 − 1e-11, a physical (if enormous) loop
    (hypothesis found one). ρ = 1 exactly is tested on loops where it is exact (below)."""
    m, _ = system
    rho = max(abs(np.linalg.eigvals(m))) if m.size else 0.0
    if rho == 0.0:
        return
    m = m / rho * factor  # now ρ(M) = factor ≥ 1
    n = m.shape[0]
    with pytest.raises(NoPhysicalSolutionError) as info:
        build_plan(sp.csr_array(m), [f"fp{i}" for i in range(n)], small_loop=small_loop)
    assert info.value.cycle
    assert set(info.value.cycle) <= {f"fp{i}" for i in range(n)}


def test_multiple_right_hand_sides_share_one_plan() -> None:
    rng = np.random.default_rng(7)
    m = sp.random_array((300, 300), density=0.01, rng=rng).toarray()
    m *= 0.9 / max(abs(np.linalg.eigvals(m)))
    plan = build_plan(sp.csr_array(m), [str(i) for i in range(300)])
    rhs = rng.uniform(size=(300, 3))
    np.testing.assert_allclose(plan.solve(rhs), np.linalg.solve(np.eye(300) - m, rhs), rtol=1e-9)


def test_giant_loop_matches_sparse_direct_solve() -> None:
    """A ring of 20 000 footprints with forward chords and a few back edges: one giant SCC."""
    rng = np.random.default_rng(1)
    n = 20_000
    idx = np.arange(n)
    rows = np.concatenate([(idx + 1) % n, rng.integers(0, n, 3 * n)])
    cols = np.concatenate([idx, rng.integers(0, n, 3 * n)])
    # forward chords only (col < row) besides the ring closing edge, so this is one loop
    keep = (cols < rows) | (np.arange(rows.size) < n)
    rows, cols = rows[keep], cols[keep]
    vals = rng.uniform(0.01, 0.2, rows.size)
    m = sp.csr_array((vals, (rows, cols)), shape=(n, n))
    m = m * (0.95 / max(1e-12, float(abs(m).sum(axis=1).max())))  # row sums < 1 ⇒ ρ < 1
    rhs = rng.uniform(size=n)
    plan = build_plan(sp.csr_array(m), [str(i) for i in range(n)])
    assert plan.largest_component == n
    # reference: SuperLU on the original numbering (which is topological except for one edge)
    system = sp.csc_array(sp.identity(n, format="csc") - sp.csc_array(m))
    expected = sp.linalg.splu(system, permc_spec="NATURAL").solve(rhs)
    x = plan.solve(rhs)
    np.testing.assert_allclose(x, expected, rtol=1e-9)
    np.testing.assert_allclose(x - m @ x, rhs, rtol=1e-9, atol=1e-12)


def _decl(fid: str, inputs: tuple[tuple[str, str], ...], own: str = "1") -> FootprintDeclaration:
    return FootprintDeclaration(
        id=fid,
        company_ids=("urn:c",),
        product_ids=(f"urn:p:{fid}",),
        declared_unit="kilogram",
        own_emissions=(OwnEmission("main-production", "1", D(own)),),
        inputs=tuple(InputLine(FootprintRef(u), D(a), "kilogram") for u, a in inputs),
    )


def test_product_consuming_one_unit_of_itself_names_the_loop() -> None:
    decls = [
        _decl("a", (("b", "2"),)),
        _decl("b", (("a", "0.5"),)),  # a → b → a returns exactly 1 unit
        _decl("c", (("a", "1"),)),
        _decl("d", ()),
    ]
    engine = FootprintEngine(decls)
    engine.compute()  # contained: the loop does not stop the engine
    for fid in ("a", "b", "c"):  # the loop and what consumes it
        with pytest.raises(NoPhysicalSolutionError) as info:
            engine.total(fid)
        assert info.value.cycle == ["a", "b"]
        assert "a, b" in str(info.value)
        assert info.value.in_loop == (fid != "c")
    assert engine.total("d") == pytest.approx(1.0)


def test_self_loop_of_one_unit_is_rejected() -> None:
    engine = FootprintEngine([_decl("x", (("x", "1000"),)), _decl("y", ())])
    with pytest.raises(NoPhysicalSolutionError) as info:
        engine.total("x")
    assert info.value.cycle == ["x"]
    assert engine.total("y") == pytest.approx(1.0)
    # grams: 1000 g of itself per kg is exactly one unit — unit conversion applied first
    ok = FootprintEngine(
        [
            FootprintDeclaration(
                id="x",
                company_ids=("urn:c",),
                product_ids=("urn:p",),
                declared_unit="kilogram",
                own_emissions=(OwnEmission("main-production", "1", D("1")),),
                inputs=(InputLine(FootprintRef("x"), D("500"), "gram"),),
            )
        ]
    )
    assert ok.total("x") == pytest.approx(2.0, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 25).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(
                    st.integers(0, n - 1),
                    st.integers(0, n - 1),
                    st.sampled_from(["0.05", "0.1", "0.2"]),
                    st.sampled_from(["kilogram", "gram"]),
                ),
                max_size=3 * n,
            ),
            st.lists(st.sampled_from(["0", "0.5", "1", "4"]), min_size=n, max_size=n),
        )
    )
)
def test_engine_on_random_cyclic_graphs_equals_dense_solve(
    graph: tuple[int, list[tuple[int, int, str, str]], list[str]],
) -> None:
    """Declarations → engine totals vs. a dense numpy solve of the same system."""
    n, edges, owns = graph
    inputs: dict[int, list[tuple[int, str, str]]] = {i: [] for i in range(n)}
    a = np.zeros((n, n))  # a[u, v]: kg of u per kg of v
    for u, v, amount, unit in edges:
        if len(inputs[v]) >= 4:
            continue  # ≤ 4 inputs of ≤ 0.2 kg each: column sums < 1, so ρ(A) < 1
        shown = amount if unit == "kilogram" else str(D(amount) * 1000)
        inputs[v].append((u, shown, unit))
        a[u, v] += float(amount)
    decls = [
        FootprintDeclaration(
            id=f"f{v}",
            company_ids=("urn:c",),
            product_ids=(f"urn:p:{v}",),
            declared_unit="kilogram",
            own_emissions=(OwnEmission("main-production", "1", D(owns[v])),),
            inputs=tuple(InputLine(FootprintRef(f"f{u}"), D(am), un) for u, am, un in inputs[v]),
        )
        for v in range(n)
    ]
    e = np.array([float(o) for o in owns])
    expected = np.linalg.solve(np.eye(n) - a.T, e)
    totals = FootprintEngine(decls).totals()
    for v in range(n):
        assert totals[f"f{v}"] == pytest.approx(expected[v], rel=1e-10, abs=1e-12)
