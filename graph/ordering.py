"""Orderings of the engine's system ``x = rhs + M x``: components, segments, loop orders.

:func:`topological_components` numbers strongly connected components so that every
dependency comes first; :func:`segment_cuts` cuts that order into loop-free runs and batches of
loops; :func:`dfs_postorder` and :func:`peel_order` put a loop block's nodes in a
near-topological order so that its LU factorisation fills in only where loops close (see
:mod:`graph.solve` and ``docs/footprint-engine.md``). All vectorised: no Python work per
footprint except in the (linear) postorder of one giant loop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, depth_first_order

IntArray = npt.NDArray[np.int64]

#: small loops next to each other in the order are factored together up to this many nodes
LOOP_BATCH = 2048


def gather_positions(indptr: IntArray, rows: IntArray) -> IntArray:
    """Positions in ``indices``/``data`` of all entries of CSR ``rows`` (vectorised)."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(total, dtype=np.int64)


def _kahn_rank(ncomp: int, src: IntArray, dst: IntArray) -> IntArray:
    """Rank of every component in a topological order (fallback, one sweep per level)."""
    cond = sp.csr_array((np.ones(src.size, dtype=np.int32), (src, dst)), shape=(ncomp, ncomp))
    cond.sum_duplicates()
    indptr = cond.indptr.astype(np.int64)
    indices = cond.indices.astype(np.int64)
    indegree = np.bincount(indices, minlength=ncomp)
    level = np.full(ncomp, -1, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        successors = indices[gather_positions(indptr, frontier)]
        if successors.size == 0:
            break
        uniq, counts = np.unique(successors, return_counts=True)
        indegree[uniq] -= counts
        frontier = uniq[indegree[uniq] == 0]
        depth += 1
    if (level < 0).any():  # pragma: no cover - a condensation is always acyclic
        raise AssertionError("condensation is not a DAG")
    rank = np.empty(ncomp, dtype=np.int64)
    rank[np.argsort(level, kind="stable")] = np.arange(ncomp, dtype=np.int64)
    return rank


def topological_components(m: sp.csr_array, entry_rows: IntArray) -> tuple[int, IntArray]:
    """SCC label per node, numbered so every dependency has a smaller label."""
    ncomp, labels = connected_components(m, directed=True, connection="strong")
    labels = labels.astype(np.int64)
    row_labels = labels[entry_rows]
    col_labels = labels[m.indices]
    if not np.all(col_labels <= row_labels):
        cross = row_labels != col_labels
        labels = _kahn_rank(ncomp, col_labels[cross], row_labels[cross])[labels]
    return ncomp, labels


def segment_cuts(sizes: IntArray, loop: npt.NDArray[np.bool_]) -> list[tuple[int, int, bool]]:
    """Cut components (in order) into loop-free runs and loop batches: (start, stop, is_loop)."""
    comp_start = np.concatenate([[0], np.cumsum(sizes)])
    out: list[tuple[int, int, bool]] = []
    pos = 0
    for c in np.flatnonzero(loop).tolist():
        s, t = int(comp_start[c]), int(comp_start[c + 1])
        if s > pos:
            out.append((pos, s, False))
        if out and out[-1][2] and out[-1][1] == s and t - out[-1][0] <= LOOP_BATCH:
            out[-1] = (out[-1][0], t, True)  # batch adjacent small loops
        else:
            out.append((s, t, True))
        pos = t
    if pos < int(comp_start[-1]):
        out.append((pos, int(comp_start[-1]), False))
    return out


def dfs_postorder(k: int, rows: IntArray, cols: IntArray) -> IntArray:
    """Nodes of one strongly connected block in depth-first postorder along dependencies.

    Postorder puts every dependency before its consumer except along DFS back edges, which
    are exactly the loop-closing edges the DFS meets. scipy gives the preorder and the DFS
    tree in C; ``post(v) = pre(v) − depth(v) + size(v) − 1`` turns them into the postorder.
    """
    graph = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(k, k))
    pre, parent = depth_first_order(graph, 0, directed=True, return_predecessors=True)
    if pre.size != k:  # not strongly connected: several loops, use the sweep instead
        return peel_order(k, rows, cols)
    pre_list = pre.tolist()
    parent_list = parent.tolist()
    size = [1] * k
    for v in reversed(pre_list):
        p = parent_list[v]
        if p >= 0:
            size[p] += size[v]
    depth = [0] * k
    for v in pre_list[1:]:
        depth[v] = depth[parent_list[v]] + 1
    rank = np.empty(k, dtype=np.int64)
    rank[pre] = np.arange(k, dtype=np.int64)
    post = rank - np.asarray(depth, dtype=np.int64) + np.asarray(size, dtype=np.int64) - 1
    return np.argsort(post).astype(np.int64)


def peel_order(k: int, rows: IntArray, cols: IntArray) -> IntArray:
    """Near-topological order of the nodes of loop blocks (vectorised Kahn with loop breaking).

    Sweeps place every node whose inputs are all placed; when only loops remain, the
    remaining node with the fewest unplaced inputs is placed next, and those inputs become
    the only entries above the diagonal. With ``b`` such breaks the cost is
    ``O(nnz + b·k)``; LU fill is confined to the columns reachable from the ``b`` breaks.
    """
    off = rows != cols
    fwd = sp.csr_array(
        (np.ones(int(off.sum()), dtype=np.int32), (cols[off], rows[off])), shape=(k, k)
    )
    fwd.sum_duplicates()
    indptr = fwd.indptr.astype(np.int64)
    indices = fwd.indices.astype(np.int64)
    indegree = np.bincount(indices, minlength=k)
    placed = np.zeros(k, dtype=bool)
    out = np.empty(k, dtype=np.int64)
    count = 0
    remaining = np.arange(k, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    while count < k:
        if frontier.size == 0:
            remaining = remaining[~placed[remaining]]
            frontier = remaining[np.argmin(indegree[remaining])][None]
        placed[frontier] = True
        out[count : count + frontier.size] = frontier
        count += frontier.size
        successors = indices[gather_positions(indptr, frontier)]
        successors = successors[~placed[successors]]
        if successors.size == 0:
            frontier = successors
            continue
        uniq, counts = np.unique(successors, return_counts=True)
        indegree[uniq] -= counts
        frontier = uniq[indegree[uniq] == 0]
    return out
