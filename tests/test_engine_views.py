"""The lean engine: networkx views of the upstream a question needs, the one-pass build.

The engine keeps no whole-graph networkx model; ``upstream_graph`` materialises a root's
neighbourhood from the arrays. These tests hold it to the whole graph it replaces (same
nodes, edges, weights and builds), and hold the bulk build to what it promises: the
garbage collector is restored however the build ends, and gaps and input errors follow
updates.
"""

from __future__ import annotations

import gc
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import bulk
from graph.engine import FootprintEngine
from graph.errors import InvalidParameterError, UnknownFootprintError
from graph.model import FootprintDeclaration
from tests.test_graph_incremental import decl, scenarios


def _expected_view(
    graph: nx.DiGraph, root: str, max_depth: int | None, expand: set[str] | None
) -> tuple[set[str], set[tuple[str, str]]]:
    """Nodes and edges a walk over the whole graph reaches: every input of an expanded
    node (the root, or one in ``expand``) closer than ``max_depth``."""
    nodes, edges = {root}, set()
    frontier, depth = [root], 0
    while frontier and (max_depth is None or depth < max_depth):
        nxt = []
        for fid in frontier:
            if depth > 0 and expand is not None and fid not in expand:
                continue
            for up in graph.pred[fid]:
                edges.add((up, fid))
                if up not in nodes:
                    nodes.add(up)
                    nxt.append(up)
        frontier, depth = nxt, depth + 1
    return nodes, edges


@settings(max_examples=80, deadline=None)
@given(scenarios(), st.data())
def test_upstream_graph_is_the_whole_graphs_neighbourhood(
    scenario: tuple[int, list[FootprintDeclaration], list[tuple[str, int]]], data: st.DataObject
) -> None:
    _, decls, _ = scenario
    engine = FootprintEngine(decls)
    whole = engine.graph
    root = data.draw(st.sampled_from([d.id for d in decls]))
    max_depth = data.draw(st.sampled_from([None, 1, 2, 3]))
    expand = data.draw(st.none() | st.sets(st.sampled_from([d.id for d in decls])))
    view = engine.upstream_graph(
        root, max_depth=max_depth, expand=None if expand is None else expand.__contains__
    )
    nodes, edges = _expected_view(whole, root, max_depth, expand)
    assert set(view.nodes) == nodes
    assert set(view.edges) == edges
    for u, v in edges:
        assert view.edges[u, v]["weight"] == whole.edges[u, v]["weight"]
    for fid in nodes:
        assert view.nodes[fid]["build"] == whole.nodes[fid]["build"]


def test_whole_graph_follows_updates() -> None:
    engine = FootprintEngine([decl("p0v0", 0, "1", []), decl("p1v0", 1, "1", [(0, "0.5")])])
    assert set(engine.graph.edges) == {("p0v0", "p1v0")}
    engine.apply(added=[decl("p0v1", 0, "2", [])], removed=["p0v0"])
    assert set(engine.graph.edges) == {("p0v1", "p1v0")}
    assert engine.graph.edges["p0v1", "p1v0"]["weight"] == pytest.approx(0.5)


def test_upstream_graph_of_an_unknown_footprint_is_an_error() -> None:
    with pytest.raises(UnknownFootprintError):
        FootprintEngine([decl("p0v0", 0, "1", [])]).upstream_graph("nope")


def test_the_build_restores_the_garbage_collector_even_when_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "PAUSE_GC_FROM", 1)  # pause for these small builds too
    paused: list[bool] = []
    real_build_node = bulk.build_node

    def build_node(*args: Any) -> Any:
        paused.append(not gc.isenabled())
        return real_build_node(*args)

    monkeypatch.setattr(bulk, "build_node", build_node)
    assert gc.isenabled()
    FootprintEngine([decl("p0v0", 0, "1", [])])
    assert gc.isenabled()
    with pytest.raises(InvalidParameterError, match="already active"):
        FootprintEngine([decl("p0v0", 0, "1", []), decl("p0v0", 0, "2", [])])
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that paused it keeps it paused
        FootprintEngine([decl("p0v0", 0, "1", [])])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert paused == [True, True]  # the pass ran paused (the failing build stops earlier)


def test_gaps_follow_updates() -> None:
    engine = FootprintEngine([decl("p1v0", 1, "1", [(0, "0.5")])])
    (gap,) = engine.problems()["p1v0"][0]
    assert gap.line == 0
    engine.apply(added=[decl("p0v0", 0, "4", [])])  # the cited product gets a footprint
    assert engine.problems() == {}
    assert engine.total("p1v0") == pytest.approx(3.0)
    engine.apply(removed=["p0v0"])  # and loses it again
    assert list(engine.problems()) == ["p1v0"]
    assert engine.total("p1v0") == pytest.approx(1.0)


def test_a_footprint_citing_one_product_twice_stops_being_a_referrer_when_deprecated() -> None:
    twice = decl("p1v0", 1, "1", [(0, "0.5"), (0, "0.25")])
    engine = FootprintEngine([decl("p0v0", 0, "4", []), twice])
    assert engine.total("p1v0") == pytest.approx(1 + 0.75 * 4)
    engine.apply(removed=["p1v0"])
    # the product's new footprint re-resolves nobody: the deprecated citer is gone
    assert engine.apply(added=[decl("p0v1", 0, "2", [])], removed=["p0v0"]) == {"p0v1"}
