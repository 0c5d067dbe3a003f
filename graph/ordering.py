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
from scipy.sparse.linalg import spsolve_triangular

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: small loops next to each other in the order are factored together up to this many nodes
LOOP_BATCH = 2048


def gather_positions(indptr: IntArray, rows: IntArray) -> IntArray:
    """Positions in ``indices``/``data`` of all entries of CSR ``rows`` (vectorised)."""
    return ranges(indptr[rows], indptr[rows + 1])


def ranges(starts: IntArray, stops: IntArray) -> IntArray:
    """``range(starts[i], stops[i])`` for every ``i``, concatenated (vectorised)."""
    lengths = stops - starts
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


def topological_components(m: sp.csr_array) -> tuple[int, IntArray]:
    """SCC label per node, numbered so every dependency has a smaller label."""
    ncomp, labels = connected_components(m, directed=True, connection="strong")
    labels = labels.astype(np.int64)
    row_labels = np.repeat(labels, np.diff(m.indptr))
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
    tree in C; ``post(v) = pre(v) − depth(v) + size(v) − 1`` turns them into the postorder,
    with each node's depth and subtree size from one triangular solve each over the tree
    (in preorder a parent comes before its children), so a deep loop costs no Python step
    per node."""
    graph = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(k, k))
    pre, parent = depth_first_order(graph, 0, directed=True, return_predecessors=True)
    if pre.size != k:  # not strongly connected: several loops, use the sweep instead
        return peel_order(k, rows, cols)
    rank = np.empty(k, dtype=np.int64)
    rank[pre] = np.arange(k, dtype=np.int64)
    child = np.arange(1, k, dtype=np.int64)  # ranks of all but the root
    up = rank[parent[pre[1:]]]  # rank of each one's parent, always smaller
    # tree[c, p] = 1 for child c of parent p: depth = tree·depth + 1 below the root, and
    # size = treeᵀ·size + 1; both systems are triangular in preorder
    tree = sp.csr_array((np.ones(k - 1), (child, up)), shape=(k, k))
    below_root = np.ones(k)
    below_root[0] = 0.0
    depth = _unit_triangular_solve(tree, below_root, lower=True)
    size = _unit_triangular_solve(sp.csr_array(tree.T), np.ones(k), lower=False)
    post = np.arange(k) - depth + size - 1  # at each preorder rank
    order: IntArray = pre[np.argsort(post)].astype(np.int64)
    return order


def _unit_triangular_solve(strict: sp.csr_array, rhs: FloatArray, *, lower: bool) -> FloatArray:
    """``x = rhs + strict·x`` for a strictly triangular non-negative integer ``strict``
    (exact in floating point while its answers stay below 2⁵³)."""
    system = sp.csr_array(sp.identity(strict.shape[0], format="csr") - strict)
    solved: FloatArray = spsolve_triangular(system, rhs, lower=lower, unit_diagonal=True)
    return np.rint(solved)


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
