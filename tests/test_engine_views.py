"""The lean engine: networkx views of the upstream a question needs, the one-pass build.

The engine keeps no whole-graph networkx model; ``upstream_graph`` materialises a root's
neighbourhood from the arrays. These tests hold it to the whole graph it replaces (same
nodes, edges, weights and builds), and hold the bulk build to what it promises: the
garbage collector is restored however the build ends, and gaps and input errors follow
updates.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import bulk
from graph.engine import FootprintEngine
from graph.errors import InvalidParameterError, UnknownFootprintError
from graph.model import FootprintDeclaration, InputLine, OwnEmission, ProductRef
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
    frontiers: list[list[str]] = []

    def expands(frontier: list[str]) -> list[bool]:
        assert expand is not None
        frontiers.append(frontier)
        return [fid in expand for fid in frontier]

    view = engine.upstream_graph(
        root, max_depth=max_depth, expand=None if expand is None else expands
    )
    nodes, edges = _expected_view(whole, root, max_depth, expand)
    assert set(view.nodes) == nodes
    assert set(view.edges) == edges
    for u, v in edges:
        assert view.edges[u, v]["weight"] == whole.edges[u, v]["weight"]
    for fid in nodes:
        assert view.nodes[fid]["build"] == whole.nodes[fid]["build"]
    # each footprint reached beyond the root is asked about once, with its frontier
    asked = [fid for frontier in frontiers for fid in frontier]
    assert len(asked) == len(set(asked))
    assert root not in asked


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


def test_a_paused_build_freezes_what_it_built_only_when_it_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "PAUSE_GC_FROM", 1)
    gc.unfreeze()
    try:
        with pytest.raises(InvalidParameterError, match="already active"):
            FootprintEngine([decl("p0v0", 0, "1", []), decl("p0v0", 0, "2", [])])
        assert gc.get_freeze_count() == 0  # a failed pass leaves its garbage collectable
        FootprintEngine([decl("p0v0", 0, "1", [])])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_built_and_computed_engine_holds_no_reference_cycle() -> None:
    """What makes freezing the build's objects safe: dropped, they are all freed by reference
    counting, so none can wait in the permanent generation for a collection that never
    comes."""
    decls = [
        decl(f"p{i}v0", i, "1", [((i + 1) % 30, "0.5"), ((i * 7) % 30, "0.25")]) for i in range(30)
    ]
    gc.collect()
    gc.disable()
    try:
        engine = FootprintEngine(decls)
        engine.compute()
        engine.apply(added=[decl("p3v1", 3, "2", [(4, "0.5")])], removed=["p3v0"])
        assert engine.total("p3v1") > 0
        del engine
        assert gc.collect() == 0
    finally:
        gc.enable()


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


def test_a_citation_that_could_not_use_the_newest_footprint_falls_back_when_it_goes() -> None:
    """A product citation resolves to the newest active footprint of the product; when that
    one's unit does not convert, the line is an input error and no coefficient. Deprecating
    it must rebuild the citer, whose citation now reaches the older footprint: the matrix
    knows nothing of the line, the registry's unresolved citations do."""

    def steel(year: int, unit: str, own: str) -> FootprintDeclaration:
        return FootprintDeclaration(
            id=f"steel-{year}",
            company_ids=("urn:c:mill",),
            product_ids=("urn:p:steel",),
            declared_unit=unit,
            own_emissions=(OwnEmission("main-production", "1", D(own)),),
            created=datetime(year, 1, 1, tzinfo=UTC),
        )

    old, newest = steel(2025, "kilogram", "2"), steel(2026, "piece", "5")
    frame = FootprintDeclaration(
        id="frame",
        company_ids=("urn:c:oem",),
        product_ids=("urn:p:frame",),
        declared_unit="piece",
        own_emissions=(OwnEmission("main-production", "1", D("1")),),
        inputs=(InputLine(ProductRef("urn:p:steel", "urn:c:mill"), D("3"), "kilogram"),),
    )
    engine = FootprintEngine([old, newest, frame])
    assert engine.total("frame") == 1.0  # the line could not use the newest: no coefficient
    assert "frame" in engine.apply(removed=["steel-2026"])
    assert engine.total("frame") == pytest.approx(1.0 + 3 * 2.0, rel=1e-12)
    assert engine.total("frame") == FootprintEngine([old, frame]).total("frame")
