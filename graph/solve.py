"""Linear algebra of the engine: ``x = rhs + M x`` on integer-indexed scipy sparse arrays.

``M[r, c]`` is the (non-negative) amount of ``c`` needed per unit of ``r``. For intensities
``M = Aᵀ`` and ``rhs = e``; for a product's supply vector ``M = A`` and ``rhs = δ``.

Why this shape (see ``docs/footprint-engine.md``):

1. strongly connected components (scipy ``connected_components``, C speed) collapse every
   recycling loop; scipy numbers them in completion order of its depth-first search, which is
   a topological order of the condensation (checked on every call; a vectorised Kahn sweep is
   the fallback; the orderings live in :mod:`graph.ordering`). Renumbering nodes by
   component makes ``I − M`` block lower triangular;
2. the order is cut into *segments*: maximal runs of loop-free footprints, and loops. A
   loop-free run is one sparse triangular solve (SuperLU ``gstrs`` via
   ``spsolve_triangular``) after a mat-vec with the already solved prefix — no Python work
   per footprint or per tier, so depth does not matter;
3. a loop is solved exactly with a sparse LU of its own block. Its nodes are put in a
   near-topological order (:func:`~graph.ordering.peel_order`) so only the few edges that
   close the loop sit above the diagonal, and SuperLU factors in that order without
   pivoting (``I − B`` is a nonsingular M-matrix, so this is stable). Fill stays in the
   columns reached from loop-closing edges. General fill-reducing orderings (COLAMD, AMD)
   ignore the direction of supply chains and fill in catastrophically on one giant loop, as
   does an LU of the whole matrix (the rows downstream of a loop would fill with ``U⁻¹`` of
   the loop);
4. each loop block is checked to have a physical solution: for ``B ≥ 0`` irreducible,
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
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import SuperLU, splu, spsolve_triangular

from graph.errors import NoPhysicalSolutionError
from graph.ordering import (
    LOOP_BATCH,
    IntArray,
    dfs_postorder,
    gather_positions,
    peel_order,
    segment_cuts,
    topological_components,
)

__all__ = ["FloatArray", "IntArray", "SolvePlan", "build_contained_plan", "build_plan", "solve"]

FloatArray = npt.NDArray[np.float64]

#: tolerance of the physical-solution test ``y ≥ 1``
_RHO_TOL = 1e-9
#: a loop amplifying a unit demand more than this is treated as ρ = 1 (no physical solution)
_MAX_AMPLIFICATION = 1e12


@dataclass(frozen=True, slots=True)
class _Segment:
    start: int
    stop: int
    lower: sp.csr_array | None  # shape (stop - start, start): coefficients on solved prefix
    tri: sp.csr_array | None  # loop-free run: unit lower triangular I − M[run, run]
    active: IntArray | None  # loop segment: local rows, in factorisation order
    diag: FloatArray | None  # loop segment of self-loops only: 1 / (1 − a_ii)
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

    ``unphysical`` maps every index that is in, or downstream of, a loop with no physical
    solution to the ids of that loop (only a contained plan has any); ``keep`` lists the
    indices that are solved (None: all of them).
    """

    n: int
    order: IntArray  # order[k] = (kept) index solved at position k
    segments: tuple[_Segment, ...]
    components: int
    largest_component: int
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
        for sg in self.segments:
            seg = x[sg.start : sg.stop]
            if sg.lower is not None:
                seg += sg.lower @ x[: sg.start]
            if sg.tri is not None:
                x[sg.start : sg.stop] = spsolve_triangular(
                    sg.tri, seg, lower=True, unit_diagonal=True, overwrite_A=True
                )
            elif sg.diag is not None and sg.active is not None:
                seg[sg.active] *= sg.diag if seg.ndim == 1 else sg.diag[:, None]
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


def build_plan(matrix: sp.csr_array | sp.csr_matrix, ids: Sequence[str]) -> SolvePlan:
    """Analyse and factor ``M`` (square, non-negative); ``ids[i]`` names index ``i`` in errors.

    Raises :class:`NoPhysicalSolutionError` naming a loop that has no physical solution.
    """
    try:
        return _plan(_normalised(matrix), ids)
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
                plan = _plan(m, ids)
            else:
                plan = _plan(sp.csr_array(m[keep][:, keep]), [ids[i] for i in keep.tolist()])
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


def _plan(m: sp.csr_array, ids: Sequence[str]) -> SolvePlan:
    """Analyse and factor a normalised ``M``; raises :class:`_Unphysical`."""
    n = m.shape[0]
    if n == 0:
        return SolvePlan(0, np.empty(0, np.int64), (), 0, 0)
    indptr = m.indptr.astype(np.int64)
    lengths = np.diff(indptr)
    entry_rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    ncomp, labels = topological_components(m, entry_rows)
    del entry_rows
    sizes = np.bincount(labels, minlength=ncomp)
    self_loop = np.zeros(ncomp, dtype=bool)
    self_loop[labels[np.flatnonzero(m.diagonal() != 0)]] = True
    loop = (sizes > 1) | self_loop
    order = np.argsort(labels, kind="stable").astype(np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    cuts = segment_cuts(sizes, loop)
    seg_ptr = np.array([c[0] for c in cuts] + [n], dtype=np.int64)

    # the permuted matrix, row by row in solve order (no COO sort of the whole matrix)
    gather = gather_positions(indptr, order)
    p_lengths = lengths[order]
    prow = np.repeat(np.arange(n, dtype=np.int64), p_lengths)
    pcol = position[m.indices[gather]]
    pval = m.data[gather]
    del gather
    seg_start = np.repeat(seg_ptr[:-1], np.diff(seg_ptr))
    lower_mask = pcol < seg_start[prow]
    lower_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(prow[lower_mask], minlength=n), out=lower_ptr[1:])
    lower_idx, lower_val = pcol[lower_mask], pval[lower_mask]
    inner = ~lower_mask
    b_row, b_col, b_val = prow[inner], pcol[inner], pval[inner]  # sorted by row already
    b_ptr = np.searchsorted(b_row, seg_ptr)

    segments: list[_Segment] = []
    failed: list[tuple[IntArray, list[str]]] = []
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
            segments.append(_Segment(s, t, low, None, None, None, None))
        else:
            size = t - s
            eye = np.arange(size, dtype=np.int64)
            tri = sp.csr_array(
                (
                    np.concatenate([-vals, np.ones(size)]),
                    (np.concatenate([rows, eye]), np.concatenate([cols, eye])),
                ),
                shape=(size, size),
            )
            tri.sum_duplicates()
            segments.append(_Segment(s, t, low, tri, None, None, None))
    if failed:
        raise _Unphysical(failed)
    return SolvePlan(n, order, tuple(segments), ncomp, int(sizes.max()))


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
    """Factor one loop segment and check it is physical."""
    active = np.unique(np.concatenate([rows, cols]))
    local_r = np.searchsorted(active, rows)
    local_c = np.searchsorted(active, cols)
    k = active.size

    def loop(local: IntArray) -> tuple[IntArray, list[str]]:
        members = order[s + active[local]]
        return members, sorted(ids[int(i)] for i in members.tolist())

    if np.all(rows == cols):
        diag = np.zeros(k)
        np.add.at(diag, local_r, vals)
        bad = np.flatnonzero(diag >= 1.0 - 1.0 / _MAX_AMPLIFICATION)
        if bad.size:  # every failing self-loop at once: one retry, however many there are
            raise _Unphysical([loop(bad[i : i + 1]) for i in range(bad.size)])
        return _Segment(s, t, low, None, active, 1.0 / (1.0 - diag), None)

    if k > LOOP_BATCH:  # one big loop: DFS postorder is linear, however deep the loop
        order_local = dfs_postorder(k, local_r, local_c)
    else:
        order_local = peel_order(k, local_r, local_c)
    inverse = np.empty(k, dtype=np.int64)
    inverse[order_local] = np.arange(k, dtype=np.int64)
    local_r, local_c, active = inverse[local_r], inverse[local_c], active[order_local]
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
        return _Segment(s, t, low, None, active, None, lu)
    raise _Unphysical([loop(c) for c in _failing_components(system, y)])


def _physical(y: FloatArray) -> bool:
    """``y = (I − B)⁻¹ 1`` certifies ``ρ(B) < 1`` iff ``y ≥ 1`` (finite, not astronomically
    amplified: ``max y ≥ 1/(1 − ρ)``, so ``> 1e12`` means ``ρ`` is 1 up to rounding)."""
    return bool(
        np.all(np.isfinite(y)) and y.min() >= 1.0 - _RHO_TOL and y.max() <= _MAX_AMPLIFICATION
    )


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
        bad = np.flatnonzero(~np.isfinite(y) | (y < 1.0 - _RHO_TOL) | (y > _MAX_AMPLIFICATION))
        if bad.size:
            return [np.flatnonzero(labels == labels[bad[0]])]
    return [np.arange(system.shape[0])]  # pragma: no cover - defensive


def solve(matrix: sp.csr_array | sp.csr_matrix, rhs: FloatArray, ids: Sequence[str]) -> FloatArray:
    """One-shot ``x = rhs + M x`` (plan + solve)."""
    return build_plan(matrix, ids).solve(rhs)
