"""Small loops solved in closed form, so that everything between large loops is triangular.

A short recycling loop (a few footprints consuming each other, or one consuming itself) is a
strongly connected component ``C`` of at most :data:`SMALL_LOOP` footprints. With ``B`` its
block of ``M`` and ``G = (I − B)⁻¹`` (dense, inverted in batches of equal size), its rows of
``x = rhs + M x`` become

    x_C = G rhs_C + G M[C, before] x_before

Substituted up front, no entry of ``M`` links two members of a small loop any more, so a
run of footprints between large loops is one triangular solve however many small loops it
holds. Before, each small loop was a segment of its own with its own sparse LU and split the
run around it: at 10⁶ footprints ≈140 such loops made 286 segments, and their per-segment
overhead was a third of a full recompute.

The substitution fills ``G M[C, before]``: ``|C|`` rows over the union of the columns the
loop's members consume, at most :data:`SMALL_LOOP` times a loop's own entries.

The physical test is the one large loops get (:mod:`graph.solve`): ``ρ(B) < 1`` iff
``y = G 1 ≥ 1``, finite and not astronomically amplified. A singular ``I − B`` (a loop
returning exactly one unit) has no inverse and fails the same way.

Preconditions: entries are given row by row in solve order (positions), every column of a
small loop's row outside its own loop comes before the loop (the components are in
topological order), and duplicates are summed.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from graph.ordering import FloatArray, IntArray, ranges

BoolArray = npt.NDArray[np.bool_]
_T = TypeVar("_T", bound=np.generic)

#: components of at most this many footprints are inverted densely (``k³`` work, ``k²`` values)
SMALL_LOOP = 32


@dataclass(frozen=True, slots=True)
class SmallLoops:
    """The inverses ``G`` of all small loops, applied to a right-hand side before the solve.

    ``rows`` are the positions (in solve order, ascending) of all small-loop members;
    ``inverse`` is block diagonal over them (one ``G`` per loop).
    """

    rows: IntArray
    inverse: sp.csr_array

    def apply(self, x: FloatArray) -> None:
        """``x[C] ← G x[C]`` for every small loop ``C`` (``x`` a vector or ``n × k`` block)."""
        if self.rows.size:
            x[self.rows] = self.inverse @ x[self.rows]


@dataclass(frozen=True, slots=True)
class Substituted:
    """Entries of ``M`` after the substitution, still row by row, and what it found."""

    rows: IntArray
    cols: IntArray
    vals: FloatArray
    loops: SmallLoops
    #: positions of the members of each small loop with no physical solution
    failed: list[IntArray]


def substitute(
    rows: IntArray,
    cols: IntArray,
    vals: FloatArray,
    comp_start: IntArray,
    small: IntArray,
) -> Substituted:
    """Solve the components ``small`` in closed form (see the module doc).

    ``comp_start[c]`` is the first position of component ``c`` (with a final entry ``n``);
    ``small`` lists the components to substitute, ascending, each of at most
    :data:`SMALL_LOOP` positions. A loop that fails the physical test gets no inverse and is
    listed in :attr:`Substituted.failed` (the caller leaves it out of the solve).

    Only the entries of small loops' rows are read; the rest are copied slice by slice
    around them (a loop's rows, and so its entries, are contiguous)."""
    if small.size == 0:
        empty = SmallLoops(np.empty(0, dtype=np.int64), sp.csr_array((0, 0)))
        return Substituted(rows, cols, vals, empty, [])
    first, stop = comp_start[small], comp_start[small + 1]
    size = stop - first
    #: local row (in ``loop_rows``) of each loop's first member, and a final total
    offset = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    loop_rows = ranges(first, stop)
    total = loop_rows.size
    starts, ends = np.searchsorted(rows, first), np.searchsorted(rows, stop)
    entries = ranges(starts, ends)
    which = np.repeat(np.arange(small.size, dtype=np.int64), ends - starts)
    er, ec, ev = rows[entries] - first[which], cols[entries], vals[entries]
    inside = (ec >= first[which]) & (ec < stop[which])
    inverse, failed = _inverses(
        which[inside], er[inside], ec[inside] - first[which[inside]], ev[inside], size, offset
    )
    outside = ~inside
    local = er[outside] + offset[which[outside]]
    consumed = sp.csr_array((ev[outside], (local, ec[outside])), shape=(total, int(comp_start[-1])))
    filled = sp.csr_array(inverse @ consumed)  # G M[C, before], row by row
    filled.sort_indices()
    new_rows = loop_rows[np.repeat(np.arange(total, dtype=np.int64), np.diff(filled.indptr))]
    chunks = filled.indptr[offset].tolist()
    cuts = list(zip(starts.tolist(), ends.tolist(), chunks[:-1], chunks[1:], strict=True))

    def splice(old: npt.NDArray[_T], new: npt.NDArray[_T]) -> npt.NDArray[_T]:
        pieces, done = [], 0
        for start, end, a, b in cuts:
            pieces += [old[done:start], new[a:b]]
            done = end
        pieces.append(old[done:])
        return np.concatenate(pieces)

    return Substituted(
        splice(rows, new_rows),
        splice(cols, filled.indices.astype(np.int64)),
        splice(vals, filled.data),
        SmallLoops(loop_rows, inverse),
        [first[i] + np.arange(size[i], dtype=np.int64) for i in failed],
    )


def _inverses(
    loop: IntArray, r: IntArray, c: IntArray, v: FloatArray, size: IntArray, offset: IntArray
) -> tuple[sp.csr_array, list[int]]:
    """The block diagonal of the loops' ``G`` over their local rows, and the loops that are
    not physical (no entries in it). Each entry ``(r, c, v)`` of ``M`` lies inside ``loop``,
    at its ``r``-th and ``c``-th member; loops of one size are inverted together."""
    out_r: list[IntArray] = []
    out_c: list[IntArray] = []
    out_v: list[FloatArray] = []
    failed: list[int] = []
    for k in np.unique(size).tolist():
        loops = np.flatnonzero(size == k)
        slot = np.full(size.size, -1, dtype=np.int64)
        slot[loops] = np.arange(loops.size, dtype=np.int64)
        mine = slot[loop] >= 0
        system = np.broadcast_to(np.eye(k), (loops.size, k, k)).copy()
        np.add.at(system, (slot[loop[mine]], r[mine], c[mine]), -v[mine])
        inverse, ok = _invert(system)
        failed += loops[~ok].tolist()
        good = np.flatnonzero(ok)
        base = offset[loops[good]][:, None, None]
        local = np.arange(k, dtype=np.int64)
        out_r.append(np.broadcast_to(base + local[None, :, None], (good.size, k, k)).ravel())
        out_c.append(np.broadcast_to(base + local[None, None, :], (good.size, k, k)).ravel())
        out_v.append(inverse[good].ravel())
    total = int(offset[-1])
    blocks = (np.concatenate(out_v), (np.concatenate(out_r), np.concatenate(out_c)))
    return sp.csr_array(blocks, shape=(total, total)), sorted(failed)


#: tolerance of the physical test ``y ≥ 1``
_RHO_TOL = 1e-9
#: a loop amplifying a unit demand more than this is treated as ρ = 1 (no physical solution)
_MAX_AMPLIFICATION = 1e12


def physical(y: FloatArray) -> BoolArray:
    """Per entry of ``y = (I − B)⁻¹ 1``: whether it is as a physical loop's must be.

    ``ρ(B) < 1`` iff every entry is ``≥ 1``, finite and not astronomically amplified
    (``max y ≥ 1/(1 − ρ)``, so ``> 1e12`` means ``ρ`` is 1 up to rounding). Large loops
    (:mod:`graph.solve`) take the same test."""
    with np.errstate(invalid="ignore"):
        ok: BoolArray = np.isfinite(y) & (y >= 1.0 - _RHO_TOL) & (y <= _MAX_AMPLIFICATION)
    return ok


def _invert(system: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Inverses of a stack of ``I − B`` and, per block, whether its loop is physical."""
    try:
        inverse = np.linalg.inv(system)
    except np.linalg.LinAlgError:  # one or more singular: invert one by one
        inverse = np.full(system.shape, np.nan)
        for i in range(system.shape[0]):
            with suppress(np.linalg.LinAlgError):
                inverse[i] = np.linalg.inv(system[i])
    ok: BoolArray = np.all(physical(inverse.sum(axis=2)), axis=1)
    return inverse.astype(np.float64, copy=False), ok
