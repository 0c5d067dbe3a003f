"""Linear algebra of the engine: ``x = rhs + M x`` on integer-indexed scipy sparse arrays.

``M[r, c]`` is the (non-negative) amount of ``c`` needed per unit of ``r``. For intensities
``M = Aᵀ`` and ``rhs = e``; for a product's supply vector ``M = A`` and ``rhs = δ``.

Why this shape (see ``docs/footprint-engine.md``):

1. strongly connected components (scipy ``connected_components``, C speed) collapse every
   recycling loop; scipy numbers them in completion order of its depth-first search, which is
   a topological order of the condensation (checked on every call; a vectorised Kahn sweep is
   the fallback; the orderings live in :mod:`graph.ordering`). Renumbering nodes by
   component makes ``I − M`` block lower triangular;
2. a small loop (at most :data:`~graph.small_loops.SMALL_LOOP` footprints, a self-loop
   included) is solved in closed form with the dense inverse of its block and substituted
   (:mod:`graph.small_loops`), so it no longer breaks the triangular structure;
3. the order is cut into *segments*: maximal runs without large loops, and large loops. A
   run is one sparse triangular solve (SuperLU ``gstrs`` via ``spsolve_triangular``) after
   a mat-vec with the already solved prefix — no Python work per footprint or per tier, so
   depth does not matter;
4. a large loop is solved exactly with a sparse LU of its own block. Its nodes are put in a
   near-topological order (:func:`~graph.ordering.peel_order`) so only the few edges that
   close the loop sit above the diagonal, and SuperLU factors in that order without
   pivoting (``I − B`` is a nonsingular M-matrix, so this is stable). Fill stays in the
   columns reached from loop-closing edges. General fill-reducing orderings (COLAMD, AMD)
   ignore the direction of supply chains and fill in catastrophically on one giant loop, as
   does an LU of the whole matrix (the rows downstream of a loop would fill with ``U⁻¹`` of
   the loop);
5. each loop block is checked to have a physical solution: for ``B ≥ 0`` irreducible,
   ``ρ(B) < 1`` iff ``(I − B) y = 1`` has a solution ``y ≥ 1``; otherwise the loop's
   footprints are named in :class:`NoPhysicalSolutionError` (:func:`build_plan`), or, in a
   *contained* plan (:func:`build_contained_plan`), the loop and everything downstream of it
   are left out of the solve and answer NaN, so one supplier's impossible loop never stops
   anybody else's footprints.

A plan is built once per structure and reused for any number of right-hand sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import SuperLU, splu, spsolve_triangular

from graph.errors import NoPhysicalSolutionError
from graph.ordering import (
    LOOP_BATCH,
    FloatArray,
    IntArray,
    dfs_postorder,
    gather_positions,
    peel_order,
    segment_cuts,
    topological_components,
)
from graph.small_loops import SMALL_LOOP, SmallLoops, physical, substitute

__all__ = ["FloatArray", "IntArray", "SolvePlan", "build_contained_plan", "build_plan", "solve"]


@dataclass(frozen=True, slots=True)
class _Segment:
    start: int
    stop: int
    lower: sp.csr_array | None  # shape (stop - start, start): coefficients on solved prefix
    tri: sp.csr_array | None  # run: unit lower triangular I − M[run, run]
    active: IntArray | None  # loop segment: local rows, in factorisation order
    lu: SuperLU | None  # loop segment: factor of (I − M)[active, active]


class _Unphysical(Exception):
    """Internal: loop blocks with no physical solution, as ``(indices, names)`` per loop.

    ``indices`` are positions in the matrix given to :func:`_plan`; ``names`` are the sorted
    ids of the loop's footprints.
    """

    def __init__(self, loops: list[tuple[IntArray, list[str]]]) -> None:
        super().__init__(loops[0][1])
        self.loops = loops


@dataclass(frozen=True, slots=True)
class SolvePlan:
    """Ordering, segment slices and loop factorisations of one ``M``; call :meth:`solve`.

    ``small_loops`` are applied to the right-hand side first; ``unphysical`` maps every
    index that is in, or downstream of, a loop with no physical
    solution to the ids of that loop (only a contained plan has any); ``keep`` lists the
    indices that are solved (None: all of them).
    """

    n: int
    order: IntArray  # order[k] = (kept) index solved at position k
    segments: tuple[_Segment, ...]
    components: int
    largest_component: int
    small_loops: SmallLoops | None = None
    keep: IntArray | None = None
    unphysical: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def solve(self, rhs: FloatArray) -> FloatArray:
        """Solve ``x = rhs + M x`` for a vector or an ``n × k`` block of right-hand sides.

        Indices in :attr:`unphysical` get NaN: they have no physical value.
        """
        if self.keep is None:
            return self._solve_kept(rhs)
        out = np.full(rhs.shape, np.nan)
        out[self.keep] = self._solve_kept(rhs[self.keep])
        return out

    def _solve_kept(self, rhs: FloatArray) -> FloatArray:
        x = np.array(rhs[self.order], dtype=np.float64)
        if self.small_loops is not None:
            self.small_loops.apply(x)
        for sg in self.segments:
            seg = x[sg.start : sg.stop]
            if sg.lower is not None:
                seg += sg.lower @ x[: sg.start]
            if sg.tri is not None:
                x[sg.start : sg.stop] = spsolve_triangular(
                    sg.tri, seg, lower=True, unit_diagonal=True, overwrite_A=True
                )
            elif sg.lu is not None and sg.active is not None:
                seg[sg.active] = sg.lu.solve(np.ascontiguousarray(seg[sg.active]))
        out = np.empty_like(x)
        out[self.order] = x
        return out


def _normalised(matrix: sp.csr_array | sp.csr_matrix) -> sp.csr_array:
    m = sp.csr_array(matrix, dtype=np.float64)
    m.sum_duplicates()
    m.eliminate_zeros()
    return m


def build_plan(
    matrix: sp.csr_array | sp.csr_matrix, ids: Sequence[str], *, small_loop: int = SMALL_LOOP
) -> SolvePlan:
    """Analyse and factor ``M`` (square, non-negative); ``ids[i]`` names index ``i`` in errors.

    Loops of at most ``small_loop`` footprints are solved in closed form
    (:mod:`graph.small_loops`), larger ones by sparse LU. Raises
    :class:`NoPhysicalSolutionError` naming a loop that has no physical solution.
    """
    try:
        return _plan(_normalised(matrix), ids, small_loop)
    except _Unphysical as failure:
        raise NoPhysicalSolutionError(failure.loops[0][1]) from None


def build_contained_plan(
    matrix: sp.csr_array | sp.csr_matrix,
    ids: Sequence[str],
    blocked: Mapping[int, Sequence[str]] | None = None,
) -> SolvePlan:
    """Like :func:`build_plan`, but a loop with no physical solution is contained.

    The loop and everything downstream of it go to :attr:`SolvePlan.unphysical` and are left
    out of the solve; the rest (which never consumes them) is solved as usual. ``blocked``
    marks indices already known to consume such a loop (an incremental update's inputs from
    outside the updated set), with that loop's ids. Each retry removes at least one more
    loop, so this ends; the common case (no such loop) costs exactly one :func:`_plan`.
    """
    m = _normalised(matrix)
    n = m.shape[0]
    cause: dict[int, tuple[str, ...]] = {}
    loops = [(np.array([i], np.int64), list(c)) for i, c in (blocked or {}).items()]
    keep = np.arange(n, dtype=np.int64)
    while True:
        for members, names in loops:
            for i in _downstream(m, members).tolist():
                cause.setdefault(i, tuple(names))
        if cause:
            out = np.zeros(n, dtype=bool)
            out[np.fromiter(cause, np.int64, len(cause))] = True
            keep = np.flatnonzero(~out).astype(np.int64)
        try:
            if keep.size == n:  # the common case: no copy of a million ids per recompute
                plan = _plan(m, ids, SMALL_LOOP)
            else:
                kept_ids = [ids[i] for i in keep.tolist()]
                plan = _plan(sp.csr_array(m[keep][:, keep]), kept_ids, SMALL_LOOP)
        except _Unphysical as failure:
            loops = [(keep[members], names) for members, names in failure.loops]
            continue
        if not cause:
            return plan
        return replace(plan, n=n, keep=keep, unphysical=cause)


def _downstream(m: sp.csr_array, seeds: IntArray) -> IntArray:
    """``seeds`` and every index that consumes them, directly or not (``M[r, c] ≠ 0``)."""
    forward = sp.csr_array(m.T)
    indptr = forward.indptr.astype(np.int64)
    indices = forward.indices.astype(np.int64)
    seen = np.zeros(m.shape[0], dtype=bool)
    frontier = np.unique(seeds)
    while frontier.size:
        seen[frontier] = True
        nxt = np.unique(indices[gather_positions(indptr, frontier)])
        frontier = nxt[~seen[nxt]]
    return np.flatnonzero(seen).astype(np.int64)


def _plan(m: sp.csr_array, ids: Sequence[str], small_loop: int) -> SolvePlan:
    """Analyse and factor a normalised ``M``; raises :class:`_Unphysical`."""
    n = m.shape[0]
    if n == 0:
        return SolvePlan(0, np.empty(0, np.int64), (), 0, 0)
    indptr = m.indptr.astype(np.int64)
    lengths = np.diff(indptr)
    ncomp, labels = topological_components(m)
    sizes = np.bincount(labels, minlength=ncomp)
    self_loop = np.zeros(ncomp, dtype=bool)
    self_loop[labels[np.flatnonzero(m.diagonal() != 0)]] = True
    loop = (sizes > 1) | self_loop
    small = loop & (sizes <= small_loop)
    order = np.argsort(labels, kind="stable").astype(np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    cuts = segment_cuts(sizes, loop & ~small)
    seg_ptr = np.array([c[0] for c in cuts] + [n], dtype=np.int64)

    # the permuted matrix, row by row in solve order (no COO sort of the whole matrix)
    gather = gather_positions(indptr, order)
    p_lengths = lengths[order]
    prow = np.repeat(np.arange(n, dtype=np.int64), p_lengths)
    pcol = position[m.indices[gather]]
    pval = m.data[gather]
    del gather
    comp_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    substituted = substitute(prow, pcol, pval, comp_start, np.flatnonzero(small))
    prow, pcol, pval = substituted.rows, substituted.cols, substituted.vals
    failed = [_named(order[members], ids) for members in substituted.failed]
    seg_start = np.repeat(seg_ptr[:-1], np.diff(seg_ptr))
    lower_mask = pcol < seg_start[prow]
    lower_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(prow[lower_mask], minlength=n), out=lower_ptr[1:])
    lower_idx, lower_val = pcol[lower_mask], pval[lower_mask]
    inner = ~lower_mask
    b_row, b_col, b_val = prow[inner], pcol[inner], pval[inner]  # sorted by row already
    b_ptr = np.searchsorted(b_row, seg_ptr)

    segments: list[_Segment] = []
    lp = lower_ptr
    for k, (s, t, is_loop) in enumerate(cuts):
        a, b = int(lp[s]), int(lp[t])
        low = None
        if b > a and s > 0:
            low = sp.csr_array(
                (lower_val[a:b], lower_idx[a:b], lp[s : t + 1] - a), shape=(t - s, s)
            )
        ba, bb = int(b_ptr[k]), int(b_ptr[k + 1])
        rows, cols, vals = b_row[ba:bb] - s, b_col[ba:bb] - s, b_val[ba:bb]
        if is_loop:
            try:
                segments.append(_loop_segment(s, t, low, rows, cols, vals, order, ids))
            except _Unphysical as failure:  # go on: one pass names every failing loop
                failed.extend(failure.loops)
        elif bb == ba:
            segments.append(_Segment(s, t, low, None, None, None))
        else:
            segments.append(_Segment(s, t, low, _unit_lower(rows, cols, vals, t - s), None, None))
    if failed:
        raise _Unphysical(failed)
    return SolvePlan(n, order, tuple(segments), ncomp, int(sizes.max()), substituted.loops)


def _unit_lower(rows: IntArray, cols: IntArray, vals: FloatArray, size: int) -> sp.csr_array:
    """``I − M`` of a run as SuperLU's triangular solve takes it without a copy per solve.

    ``rows`` are sorted and every ``cols < rows`` (after :mod:`graph.small_loops`), without
    duplicates: each row's diagonal goes last, and the result is canonical CSR with 32-bit
    indices, so ``spsolve_triangular`` neither converts, sums nor casts it again."""
    indptr = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=size) + 1, out=indptr[1:])
    diagonal = indptr[1:] - 1
    off = np.arange(rows.size, dtype=np.int64) + rows  # each earlier row adds its diagonal
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1])
    indices[diagonal] = np.arange(size, dtype=np.int32)
    data[diagonal] = 1.0
    indices[off] = cols
    data[off] = -vals
    tri = sp.csr_array((data, indices, indptr), shape=(size, size))
    tri.sort_indices()
    return tri


def _named(members: IntArray, ids: Sequence[str]) -> tuple[IntArray, list[str]]:
    """A loop's indices with the sorted ids that name it in errors."""
    return members, sorted(ids[int(i)] for i in members.tolist())


def _loop_segment(
    s: int,
    t: int,
    low: sp.csr_array | None,
    rows: IntArray,
    cols: IntArray,
    vals: FloatArray,
    order: IntArray,
    ids: Sequence[str],
) -> _Segment:
    """Factor one loop segment (``rows``, ``cols`` relative to ``s``) and check it is physical.

    Every position of a loop segment belongs to one of its loops, so the whole segment is
    factored: ``active`` is its positions in factorisation order."""
    k = t - s
    # one big loop: DFS postorder is linear, however deep the loop
    active = dfs_postorder(k, rows, cols) if k > LOOP_BATCH else peel_order(k, rows, cols)
    inverse = np.empty(k, dtype=np.int64)
    inverse[active] = np.arange(k, dtype=np.int64)
    local_r, local_c = inverse[rows], inverse[cols]
    system = sp.csc_array(
        (
            np.concatenate([np.ones(k), -vals]),
            (np.concatenate([np.arange(k), local_r]), np.concatenate([np.arange(k), local_c])),
        ),
        shape=(k, k),
    )
    try:
        # Near-topological order + no pivoting: fill only where loops close (see module doc).
        lu = splu(
            system,
            permc_spec="NATURAL",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        y = lu.solve(np.ones(k))
        ok = _physical(y)
    except RuntimeError:  # exactly singular
        lu, y, ok = None, None, False
    if ok and lu is not None:
        return _Segment(s, t, low, None, active, lu)
    raise _Unphysical([_named(order[s + active[c]], ids) for c in _failing_components(system, y)])


def _physical(y: FloatArray) -> bool:
    """Whether ``y = (I − B)⁻¹ 1`` certifies ``ρ(B) < 1`` (:func:`~graph.small_loops.physical`)."""
    return bool(physical(y).all())


def _failing_components(system: sp.csc_array, y: FloatArray | None) -> list[IntArray]:
    """Local indices of each strongly connected block whose loop has no physical solution.

    Every block is checked on its own (a batch may hold several failing loops); if none fails
    alone (the batch only amplifies beyond the limit as a whole), the block of the first
    failing entry of ``y`` is named.
    """
    _, labels = connected_components(system, directed=True, connection="strong")
    failing = []
    for label in np.unique(labels).tolist():
        members = np.flatnonzero(labels == label)
        block = sp.csc_array(system[members][:, members])
        if members.size == 1 and block.nnz and block.data[0] == 1.0:
            continue  # a footprint without a self-loop inside a batch: nothing to check
        try:
            yb = splu(block).solve(np.ones(members.size))
        except RuntimeError:
            failing.append(members)
            continue
        if not _physical(yb):
            failing.append(members)
    if failing:
        return failing
    if y is not None:
        bad = np.flatnonzero(~physical(y))
        if bad.size:
            return [np.flatnonzero(labels == labels[bad[0]])]
    return [np.arange(system.shape[0])]  # pragma: no cover - defensive


def solve(matrix: sp.csr_array | sp.csr_matrix, rhs: FloatArray, ids: Sequence[str]) -> FloatArray:
    """One-shot ``x = rhs + M x`` (plan + solve)."""
    return build_plan(matrix, ids).solve(rhs)
