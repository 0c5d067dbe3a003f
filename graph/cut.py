"""What one viewer sees of a computed footprint: the supply graph cut at the edge of its access.

A viewer sees another organisation's footprint's identity and total with ``summary``
access, and its inner breakdown (own emissions, inputs, suppliers) with ``detail``
access. So the footprints whose breakdown is open to the viewer form a region around the
root (the root first: the caller shows a breakdown only to a viewer with detail access
to it), reached through open footprints only. Each footprint just beyond the region is a
leaf carrying its whole cradle-to-gate contribution: named, with its total, when the
viewer has summary access to it; otherwise folded into one opaque ``undisclosed`` share.
Nothing beyond a leaf is shown, and totals stay exact: for the converged intensities
``x_o = e_o + Σ w·x_p`` holds at every open footprint, so solving the open region with
the leaves' totals as boundary values gives the root's total back.

``disclosed_result`` cuts a :class:`ComputedFootprint`'s breakdowns (by stage, scope and
supplier); ``disclosed_tree`` cuts a contribution tree. Both apply the one rule
``level_of(footprint id)``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol, runtime_checkable

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from graph.contributions import ContributionNode
from graph.engine import FootprintEngine
from graph.results import ComputedFootprint
from graph.supply_graph import NodeBuild

Level = Literal["summary", "detail"]
# The viewer's access level to a footprint id; None where it has none.
Disclosure = Callable[[str], Level | None]
UNDISCLOSED = "undisclosed"


@runtime_checkable
class AsksAhead(Protocol):
    """A disclosure that answers many ids together more cheaply than one at a time (an
    access policy read from a database): a walk gives it each frontier before asking
    about its footprints one by one."""

    def ask_ahead(self, footprint_ids: Sequence[str]) -> None: ...


def open_region(
    graph: nx.DiGraph, root: str, level_of: Disclosure
) -> tuple[list[str], dict[str, Level | None]]:
    """The footprints whose breakdown the viewer sees (``root`` first, then those with
    detail access reached through them) and the leaves just beyond, with the viewer's
    level (``summary`` or None)."""
    opened, leaves = [root], dict[str, Level | None]()
    queue, seen = [root], {root}
    while queue:
        for up in graph.pred[queue.pop()]:
            if up in seen or up in leaves:
                continue
            level = level_of(up)
            if level == "detail":
                seen.add(up)
                opened.append(up)
                queue.append(up)
            else:
                leaves[up] = level
    return opened, leaves


def disclosed_result(
    engine: FootprintEngine,
    full: ComputedFootprint,
    level_of: Disclosure,
    result_of: Callable[[str], ComputedFootprint],
) -> ComputedFootprint:
    """``full`` (the root's uncut result) with its stage, scope and supplier breakdowns
    cut for the viewer: open footprints contribute their own direct items; a summary leaf
    its total, under its company and split as its own summary result is; an undisclosed
    leaf its total under ``undisclosed`` only."""
    cached_level = functools.cache(level_of)  # asked while walking, then by open_region
    ask_ahead = level_of.ask_ahead if isinstance(level_of, AsksAhead) else None

    def expand(frontier: list[str]) -> list[bool]:
        if ask_ahead is not None:
            ask_ahead(frontier)
        return [cached_level(fid) == "detail" for fid in frontier]

    # only the region's neighbourhood: the walk expands nothing beyond a leaf
    graph = engine.upstream_graph(full.footprint_id, expand=expand)
    opened, leaves = open_region(graph, full.footprint_id, cached_level)
    supply = _open_supply(graph, opened)
    by_stage = dict.fromkeys(full.by_stage, 0.0)
    by_scope = dict.fromkeys(full.by_scope, 0.0)
    by_supplier: dict[str, float] = {}
    for fid, s in supply.items():
        build: NodeBuild = graph.nodes[fid]["build"]
        for item in build.direct:
            _add(by_stage, item.stage, s * item.kg_co2e)
            _add(by_scope, item.scope, s * item.kg_co2e)
            _add(by_supplier, engine.declaration(fid).company_id, s * item.kg_co2e)
    for fid, level in leaves.items():
        flow = _flow(graph, fid, supply)
        if flow == 0.0:
            continue
        if level == "summary":
            leaf = result_of(fid)
            _add(by_supplier, leaf.company_id, flow * leaf.total)
            for key, value in leaf.by_stage.items():
                _add(by_stage, key, flow * value)
            for key, value in leaf.by_scope.items():
                _add(by_scope, key, flow * value)
        else:
            for breakdown in (by_stage, by_scope, by_supplier):
                _add(breakdown, UNDISCLOSED, flow * engine.total(fid))
    return dataclasses.replace(
        full,
        by_stage=by_stage,
        by_scope=by_scope,
        by_supplier={k: v for k, v in by_supplier.items() if v != 0.0},
    )


def disclosed_tree(tree: ContributionNode, level_of: Disclosure) -> ContributionNode:
    """The contribution tree of a root the viewer has detail access to, cut: a footprint
    with summary access keeps its line and loses its children; lines of footprints the
    viewer cannot see merge, per parent, into one ``undisclosed`` line."""
    return dataclasses.replace(tree, children=_cut_children(tree.children, level_of))


def _cut_children(
    children: Iterable[ContributionNode], level_of: Disclosure
) -> tuple[ContributionNode, ...]:
    kept: list[ContributionNode] = []
    hidden, hidden_share = 0.0, 0.0
    for child in children:
        level = level_of(child.footprint_id) if child.footprint_id is not None else "detail"
        if level == "detail":
            kept.append(
                dataclasses.replace(child, children=_cut_children(child.children, level_of))
            )
        elif level == "summary":
            kept.append(dataclasses.replace(child, children=()))
        else:
            hidden += child.kg_co2e
            hidden_share += child.share
    if hidden != 0.0:
        kept.append(
            ContributionNode("undisclosed upstream", "undisclosed", None, 0.0, hidden, hidden_share)
        )
    return tuple(sorted(kept, key=lambda n: (n.kind == "other", -abs(n.kg_co2e))))


def _open_supply(graph: nx.DiGraph, opened: list[str]) -> dict[str, float]:
    """Declared units of each open footprint per unit of the root (``opened[0]``), over
    paths through open footprints only: ``t = (I − M)⁻¹ δ_root`` with ``M[j, i]`` the
    amount of ``j`` per unit of ``i``. The region is the viewer's, so it stays small."""
    index = {fid: i for i, fid in enumerate(opened)}
    rows, cols, vals = [], [], []
    for fid in opened:
        for up, data in graph.pred[fid].items():
            if up in index:
                rows.append(index[up])
                cols.append(index[fid])
                vals.append(float(data["weight"]))
    n = len(opened)
    m = sp.csc_array((vals, (rows, cols)), shape=(n, n))
    delta = np.zeros(n)
    delta[0] = 1.0
    t = np.atleast_1d(spsolve(sp.identity(n, format="csc") - m, delta))
    return {fid: float(t[i]) for fid, i in index.items()}


def _flow(graph: nx.DiGraph, leaf: str, supply: dict[str, float]) -> float:
    """Declared units of ``leaf`` the open region draws per unit of the root."""
    edges = graph.out_edges(leaf, data="weight")
    return sum(float(w) * supply[down] for _, down, w in edges if down in supply)


def _add(breakdown: dict[str, float], key: str, value: float) -> None:
    breakdown[key] = breakdown.get(key, 0.0) + value
