"""Contribution tree: who contributes how much to a footprint, top contributors first.

A footprint node of value ``m·x_u`` (``m`` declared units of ``u`` per unit of the root) has as
children its direct items (``m·item``) and its inputs (``m·w·x_p``). Because ``x_u = e_u +
Σ w·x_p`` holds exactly for the converged intensities — which already carry every loop factor
``1/(1 − r)`` — the children of every node add up to the node. An input that is already on the
path from the root (a loop) is shown once, as a ``cycle`` leaf with its full loop-inclusive
value, and not expanded again. Children below ``cutoff`` of the root total, beyond
``max_children`` or below ``max_depth`` are folded into one ``other`` node, so shares still
add up to 100 %. (``undisclosed`` nodes appear only in a tree cut for a viewer: ``graph.cut``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

import networkx as nx

from graph.supply_graph import NodeBuild

Kind = Literal["footprint", "own", "factor", "recycling", "cycle", "other", "undisclosed"]


@dataclass(frozen=True, slots=True)
class ContributionNode:
    """One line of the tree: kgCO2e per 1 declared unit of the root, and its share."""

    label: str
    kind: Kind
    footprint_id: str | None
    amount: float
    kg_co2e: float
    share: float
    children: tuple[ContributionNode, ...] = ()


def contribution_tree(
    graph: nx.DiGraph,
    intensity: Callable[[str], float],
    root: str,
    *,
    cutoff: float = 0.01,
    max_depth: int = 4,
    max_children: int = 10,
) -> ContributionNode:
    """Build the tree for ``root`` (``intensity(id)`` = computed kgCO2e per declared unit)."""
    total = intensity(root)
    scale = abs(total) if total != 0.0 else 1.0

    def share(value: float) -> float:
        return value / total if total != 0.0 else 0.0

    def expand(fid: str, amount: float, path: frozenset[str], depth: int) -> ContributionNode:
        value = amount * intensity(fid)
        node = ContributionNode(fid, "footprint", fid, amount, value, share(value))
        if depth >= max_depth:
            return node
        build = cast(NodeBuild, graph.nodes[fid]["build"])
        raw: list[tuple[float, Kind, str, str | None, float]] = [
            (amount * item.kg_co2e, item.kind, item.label, None, 0.0) for item in build.direct
        ]
        for up, data in graph.pred[fid].items():
            w = amount * float(data["weight"])
            kind: Kind = "cycle" if up in path or up == fid else "footprint"
            raw.append((w * intensity(up), kind, up, up, w))
        raw.sort(key=lambda t: -abs(t[0]))
        children: list[ContributionNode] = []
        rest = 0.0
        for value_c, kind_c, label, up_id, w in raw:
            if len(children) >= max_children or abs(value_c) < cutoff * scale:
                rest += value_c
            elif kind_c == "footprint" and up_id is not None:
                children.append(expand(up_id, w, path | {fid}, depth + 1))
            else:
                children.append(ContributionNode(label, kind_c, up_id, w, value_c, share(value_c)))
        if rest != 0.0:
            children.append(ContributionNode("other", "other", None, 0.0, rest, share(rest)))
        return ContributionNode(fid, "footprint", fid, amount, value, share(value), tuple(children))

    return expand(root, 1.0, frozenset(), 0)
