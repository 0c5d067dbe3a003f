"""networkx views of the engine's arrays, built for the part of the graph a question needs.

The engine keeps its numbers in arrays (``Aᵀ`` rows in :class:`RowStore`, ``e``, ``x``): at
10⁶ footprints a networkx graph of every footprint and edge would take more memory than
everything else together (≈1.6 GB, a dict per edge) and a third of the build time. The
graph algorithms that want networkx — the contribution tree's walk, a viewer's open
region — look at a root's upstream neighbourhood only, so that neighbourhood is
materialised on demand: a breadth-first walk over the CSR rows (vectorised per level),
optionally stopped at a depth or at footprints that are not to be expanded, turned into an
``nx.DiGraph`` with the same attributes as :func:`graph.supply_graph.build_supply_graph`
(edge ``weight``, node ``build``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from graph.solve import FloatArray, IntArray
from graph.store import RowStore
from graph.supply_graph import NodeBuild

#: Which footprints of a frontier the walk goes on through (their inputs become part of
#: the view): one answer per id, asked once per frontier so that a caller answering from
#: a database can answer a frontier together.
Expand = Callable[[list[str]], Iterable[bool]]


def upstream_edges(
    store: RowStore,
    ids: Sequence[str],
    root: int,
    *,
    max_depth: int | None = None,
    expand: Expand | None = None,
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """The footprints reached upstream of ``root`` and the edges walked, as arrays
    ``(nodes, consumer, input, weight)``. A footprint at ``max_depth`` steps, or one for
    which ``expand`` answers false (the root is always expanded), is reached but not
    expanded."""
    seen = np.zeros(store.n, dtype=bool)
    seen[root] = True
    frontier = np.array([root], dtype=np.int64)
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    depth = 0
    while frontier.size and (max_depth is None or depth < max_depth):
        if expand is not None and depth > 0:
            keep = np.fromiter(expand([ids[i] for i in frontier.tolist()]), bool, frontier.size)
            frontier = frontier[keep]
        r, c, v = store.rows(frontier)
        parts.append((r, c, v))
        nxt = np.unique(c)
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
        depth += 1
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return np.flatnonzero(seen), empty, empty, np.empty(0)
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
    return np.flatnonzero(seen), rows, cols, vals


def to_networkx(
    ids: Sequence[str],
    nodes: IntArray,
    rows: IntArray,
    cols: IntArray,
    vals: FloatArray,
    builds: Sequence[NodeBuild],
) -> nx.DiGraph:
    """An ``nx.DiGraph`` of ``nodes`` (attribute ``build``, aligned with ``nodes``) with an
    edge input → consumer (attribute ``weight``) per ``(rows, cols, vals)`` entry."""
    graph = nx.DiGraph()
    graph.add_nodes_from(
        (ids[i], {"build": b}) for i, b in zip(nodes.tolist(), builds, strict=True)
    )
    graph.add_edges_from(
        (ids[c], ids[r], {"weight": w})
        for r, c, w in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True)
    )
    return graph
