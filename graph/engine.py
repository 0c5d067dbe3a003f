"""``FootprintEngine``: full compute, incremental updates and per-footprint results.

The model lives in integer-indexed arrays (:class:`RowStore` for the rows of ``Aᵀ``, vectors
``e`` and ``x``) plus, per footprint, only what the arrays cannot hold: its direct items and,
sparsely, its gaps and input errors. networkx is the graph layer for questions about a
neighbourhood (contribution tree, a viewer's open region): :meth:`FootprintEngine.
upstream_graph` materialises the part of the graph such a question needs (``graph.views``).
Indices are never reused: a removed footprint leaves an empty row, so arrays stay aligned
without renumbering.

A loop with no physical solution is *contained*: its footprints and everything downstream of
them answer :class:`NoPhysicalSolutionError` (naming the loop), every other footprint computes
as usual, and breaking the loop (superseding or deprecating a member) recovers them on the
next update — one supplier's loop never stops anybody else's footprints.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping

import networkx as nx
import numpy as np
import scipy.sparse as sp

from graph.bulk import Problems, build_all
from graph.contributions import ContributionNode, contribution_tree
from graph.direct_items import DirectItems
from graph.errors import (
    InvalidParameterError,
    NoPhysicalSolutionError,
    OutOfRangeError,
    UnknownFootprintError,
)
from graph.model import EmissionFactor, FootprintDeclaration
from graph.results import ComputedFootprint, assemble, declared_comparison
from graph.sharing import Sharing
from graph.solve import FloatArray, IntArray, SolvePlan, build_contained_plan, build_plan
from graph.store import RowStore
from graph.supply_graph import (
    Gap,
    InputError,
    NodeBuild,
    Registry,
    build_node,
)
from graph.views import Expand, to_networkx, upstream_edges


class FootprintEngine:
    """Cradle-to-gate intensities of all active footprints: ``x = e + Aᵀx``.

    ``tolerance`` is the relative difference between declared and computed totals beyond
    which a footprint is flagged (default 5 %). ``company_owners`` binds company ids to
    organisations for reference resolution and ``sharing`` says which other orgs'
    footprints a citation may follow (see :class:`Registry`).
    """

    def __init__(
        self,
        declarations: Iterable[FootprintDeclaration] = (),
        factors: Iterable[EmissionFactor] = (),
        *,
        tolerance: float = 0.05,
        company_owners: Mapping[str, str] | None = None,
        sharing: Sharing | None = None,
    ) -> None:
        if tolerance < 0:
            raise InvalidParameterError("tolerance must be ≥ 0")
        self.tolerance = tolerance
        self._registry = Registry(factors, company_owners, sharing)
        decls = declarations if isinstance(declarations, list) else list(declarations)
        self._ids: list[str] = [d.id for d in decls]
        #: per index: the company id results attribute its emissions to, so a result reads
        #: no upstream declaration (after a restore they are packed: ``graph.declarations``)
        self._company: list[str] = [sys.intern(d.company_id) for d in decls]
        self._index: dict[str, int] = {fid: i for i, fid in enumerate(self._ids)}
        built = build_all(decls, self._registry, self._index)
        self._store: RowStore = built.store
        self._e: FloatArray = built.e
        #: per index: direct items (``()`` for removed ones; pickled as columns, made again on
        #: first read after a load); gaps and errors only where any
        self._direct = DirectItems(built.direct)
        self._problems: dict[int, Problems] = built.problems
        self._full_graph: nx.DiGraph | None = None
        self._alive = np.ones(len(decls), dtype=bool)
        self._x: FloatArray = np.full(len(decls), np.nan)
        self._computed = False
        #: index → ids of the loop with no physical solution that it is in or downstream of
        self._unphysical: dict[int, tuple[str, ...]] = {}
        self.plan: SolvePlan | None = None
        #: build the downstream index during :meth:`compute` so the first update is fast too
        self.prepare_updates = True
        #: an update reaching more than this share of all footprints runs a full compute
        self.full_recompute_share = 0.3

    def __getstate__(self) -> dict[str, object]:
        """What pickling keeps (``gateway.engine_snapshot``): all but the solve plan, whose
        LU factors cannot be pickled (``x`` already holds its answer; the next full compute
        builds a new plan), and the networkx graph, materialised again on first use."""
        state = self.__dict__.copy()
        state["plan"] = None
        state["_full_graph"] = None
        return state

    # ------------------------------------------------------------------ model
    @property
    def graph(self) -> nx.DiGraph:
        """The whole networkx supply graph, materialised from the arrays on first use after a
        change (read-only by convention). For small graphs, exports and tests: the engine
        itself only ever builds the part a question needs (:meth:`upstream_graph`)."""
        if self._full_graph is None:
            alive = np.flatnonzero(self._alive[: len(self._ids)])
            coo = self._store.matrix().tocoo()
            self._full_graph = to_networkx(
                self._ids,
                alive,
                coo.row.astype(np.int64),
                coo.col.astype(np.int64),
                coo.data,
                self._node_builds(alive),
            )
        return self._full_graph

    def upstream_graph(
        self, footprint_id: str, *, max_depth: int | None = None, expand: Expand | None = None
    ) -> nx.DiGraph:
        """The networkx graph of what ``footprint_id`` consumes, up to ``max_depth`` steps,
        walking on only through footprints for which ``expand`` holds (default: all)."""
        if footprint_id not in self._index:
            raise UnknownFootprintError(footprint_id)
        nodes, rows, cols, vals = upstream_edges(
            self._store, self._ids, self._index[footprint_id], max_depth=max_depth, expand=expand
        )
        return to_networkx(self._ids, nodes, rows, cols, vals, self._node_builds(nodes))

    def __contains__(self, footprint_id: object) -> bool:
        return footprint_id in self._index

    def declaration(self, footprint_id: str) -> FootprintDeclaration:
        """The active declaration with this id."""
        try:
            return self._registry.footprints[footprint_id]
        except KeyError:
            raise UnknownFootprintError(footprint_id) from None

    def _node_builds(self, nodes: IntArray) -> list[NodeBuild]:
        """The builds of footprints ``nodes`` as :func:`build_node` made them, from the
        arrays (their rows read in one vectorised step)."""
        ids = self._ids
        inputs: dict[int, dict[str, float]] = {i: {} for i in nodes.tolist()}
        rows, cols, vals = self._store.rows(nodes)
        for r, c, w in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True):
            inputs[r][ids[c]] = w
        indexes = nodes.tolist()
        return [
            NodeBuild(inputs[i], direct, float(self._e[i]), *self._problems.get(i, ((), ())))
            for i, direct in zip(indexes, self._direct.items_of(indexes), strict=True)
        ]

    def arrays(self) -> tuple[sp.csr_array, FloatArray, list[str]]:
        """The integer-indexed system: ``Aᵀ`` (row = product, column = input), ``e``, and the
        footprint id of each index (``""`` for removed ones). For exports, e.g. to bw2calc."""
        return self._store.matrix(), self._e[: len(self._ids)].copy(), list(self._ids)

    # ------------------------------------------------------------------ compute
    def compute(self) -> None:
        """Full recompute of every active footprint."""
        n = len(self._ids)
        self.plan = build_contained_plan(self._store.matrix(), self._ids)
        self._x[:n] = self.plan.solve(self._e[:n])
        self._unphysical = dict(self.plan.unphysical)
        self._x[~self._alive] = np.nan
        self._computed = True
        if self.prepare_updates:
            self._store.prepare_forward()

    def _reserve(self, n: int) -> None:
        """Make arrays hold ``n`` indices, growing geometrically (O(1) amortised per add)."""
        self._store.grow(n)
        if n <= self._alive.size:
            return
        extra = max(n - self._alive.size, self._alive.size // 2 + 16)
        self._alive = np.concatenate([self._alive, np.zeros(extra, dtype=bool)])
        self._e = np.concatenate([self._e, np.zeros(extra)])
        self._x = np.concatenate([self._x, np.full(extra, np.nan)])

    def _ensure(self) -> None:
        if not self._computed:
            self.compute()

    def add_factors(self, factors: Iterable[EmissionFactor]) -> None:
        """Make newly published factors resolvable. Published versions are immutable, so no
        existing footprint changes; footprints added later may reference them."""
        for factor in factors:
            self._registry.factors.setdefault(factor.ref, factor)

    def apply(
        self,
        added: Iterable[FootprintDeclaration] = (),
        removed: Iterable[str] = (),
    ) -> frozenset[str]:
        """Add, supersede (remove old + add new) or deprecate footprints; recompute downstream.

        Returns the ids that were recomputed: the new footprints, footprints whose inputs
        re-resolved, and everything downstream of them.
        """
        self._ensure()
        removed_ids = list(removed)
        new = list(added)
        for fid in removed_ids:
            if fid not in self._index:
                raise UnknownFootprintError(fid)
        removed_set = set(removed_ids)
        new_ids = [d.id for d in new]
        if len(set(new_ids)) != len(new_ids) or any(
            i in self._index and i not in removed_set for i in new_ids
        ):
            raise InvalidParameterError("added footprints must have new, distinct ids")
        self._full_graph = None
        touched: set[str] = set()
        for fid in removed_ids:
            # who used it (the matrix) and who cited it without using it (the registry)
            touched |= self._registry.waiting_for(self._registry.remove(fid))
            touched.update(self._consumers([fid]))
            i = self._index.pop(fid)
            self._ids[i] = ""
            self._company[i] = ""
            self._alive[i] = False
            self._e[i] = 0.0
            self._x[i] = np.nan
            self._unphysical.pop(i, None)
            self._direct[i] = ()
            self._problems.pop(i, None)
            self._store.set_row(i, np.empty(0, np.int64), np.empty(0))
        for decl in new:
            self._registry.add(decl)
            self._index[decl.id] = len(self._ids)
            self._ids.append(decl.id)
            self._company.append(sys.intern(decl.company_id))
            self._reserve(len(self._ids))
            self._alive[len(self._ids) - 1] = True
            self._direct.append(())
            touched.add(decl.id)
        for decl in new:
            # citations it may satisfy: unresolved ones, and those resolved to another
            # footprint of its product (a newer one wins)
            touched |= self._registry.waiting_for(decl)
            touched.update(self._consumers(self._registry.same_product(decl)))
        touched -= removed_set - set(new_ids)  # a re-applied footprint is built anew
        self._reserve(len(self._ids))
        added_ids = set(new_ids)
        changed: list[str] = []
        for fid in touched:
            build = build_node(self._registry.footprints[fid], self._registry)
            i = self._index[fid]
            if fid not in added_ids and self._node_builds(np.array([i]))[0] == build:
                continue  # a referrer whose reference still resolves to the same footprint
            changed.append(fid)
            cols = np.fromiter((self._index[u] for u in build.inputs), np.int64, len(build.inputs))
            vals = np.fromiter(build.inputs.values(), np.float64, len(build.inputs))
            self._store.set_row(i, cols, vals)
            self._e[i] = build.direct_total
            self._direct[i] = build.direct
            if build.gaps or build.errors:
                self._problems[i] = (build.gaps, build.errors)
            else:
                self._problems.pop(i, None)
            self._registry.record_unresolved(self._registry.footprints[fid], build)
        seeds = np.fromiter((self._index[f] for f in changed), np.int64, len(changed))
        down = self._store.downstream(seeds)
        down = down[self._alive[down]]
        if down.size > self.full_recompute_share * max(1, len(self._index)):
            # most of the graph is affected: one full pass is cheaper; values outside the
            # downstream set are kept bit for bit (they only differ by rounding)
            previous = self._x.copy()
            self.compute()
            outside = np.ones(previous.size, dtype=bool)
            outside[down] = False
            self._x[outside] = previous[outside]
        else:
            self._solve_subset(down)
        return frozenset(self._ids[i] for i in down.tolist())

    def _consumers(self, footprint_ids: Iterable[str]) -> list[str]:
        """Ids of the active footprints whose rows use any of ``footprint_ids`` (which must
        still be indexed)."""
        inputs = np.fromiter((self._index[f] for f in footprint_ids), np.int64)
        if inputs.size == 0:
            return []
        ids = self._ids
        return [ids[c] for c in np.unique(self._store.consumers(inputs)).tolist()]

    def _solve_subset(self, subset: IntArray) -> None:
        """Solve ``x_D = e_D + Aᵀ_{D,·} x`` for ``D`` with everything outside ``D`` fixed.

        A footprint of ``D`` consuming one outside ``D`` that has no physical value has none
        either; loops inside ``D`` are contained as in :meth:`compute`.
        """
        if self._unphysical:
            for i in subset.tolist():
                self._unphysical.pop(i, None)
        if subset.size == 0:
            return
        r, c, v = self._store.rows(subset)
        lr = np.searchsorted(subset, r)
        lc = np.searchsorted(subset, c)
        inside = (lc < subset.size) & (subset[np.minimum(lc, subset.size - 1)] == c)
        k = subset.size
        rhs = self._e[subset] + np.bincount(
            lr[~inside], weights=v[~inside] * self._x[c[~inside]], minlength=k
        )
        m = sp.csr_array((v[inside], (lr[inside], lc[inside])), shape=(k, k))
        ids = [self._ids[i] for i in subset.tolist()]
        blocked = {}
        if self._unphysical:  # only then: this is a Python loop over the outside inputs
            blocked = {
                int(row): self._unphysical[col]
                for row, col in zip(lr[~inside].tolist(), c[~inside].tolist(), strict=True)
                if col in self._unphysical
            }
        plan = build_contained_plan(m, ids, blocked)
        self._x[subset] = plan.solve(rhs)
        positions = subset.tolist()
        self._unphysical.update({positions[p]: loop for p, loop in plan.unphysical.items()})

    # ------------------------------------------------------------------ results
    def _physical_index(self, footprint_id: str) -> int:
        """The footprint's index, once it is known to have a physical value."""
        self._ensure()
        if footprint_id not in self._index:
            raise UnknownFootprintError(footprint_id)
        i = self._index[footprint_id]
        loop = self._unphysical.get(i)
        if loop is not None:
            raise NoPhysicalSolutionError(list(loop), footprint_id=footprint_id)
        return i

    def unphysical(self) -> dict[str, tuple[str, ...]]:
        """Footprints in or downstream of a loop with no physical solution → that loop's ids."""
        self._ensure()
        return {self._ids[i]: loop for i, loop in self._unphysical.items()}

    def total(self, footprint_id: str) -> float:
        """kgCO2e per 1 declared unit, cradle to gate.

        Raises :class:`NoPhysicalSolutionError` for a footprint in or downstream of a loop
        that has no physical solution.
        """
        return float(self._x[self._physical_index(footprint_id)])

    def totals(self) -> dict[str, float]:
        """All active footprints' totals (kgCO2e per declared unit); NaN for those in
        :meth:`unphysical`, so a whole-ledger report still lists them."""
        self._ensure()
        return {fid: float(self._x[i]) for fid, i in self._index.items()}

    def flagged(self) -> dict[str, float | None]:
        """Footprints whose declared total differs from the computed one beyond tolerance."""
        self._ensure()
        out: dict[str, float | None] = {}
        for fid, decl in self._registry.footprints.items():
            if decl.declared_pcf is None or self._index[fid] in self._unphysical:
                continue
            rel, flag = declared_comparison(
                float(decl.declared_pcf), float(self._x[self._index[fid]]), self.tolerance
            )
            if flag:
                out[fid] = rel
        return out

    def problems(self) -> dict[str, tuple[tuple[Gap, ...], tuple[InputError, ...]]]:
        """Own gaps and input errors per footprint (only footprints that have some)."""
        return {self._ids[i]: found for i, found in sorted(self._problems.items())}

    def _upstream_system(self, footprint_id: str) -> tuple[IntArray, sp.csr_array, int]:
        """Upstream set ``U`` (sorted), ``A`` restricted to ``U`` and the root's position."""
        i = self._physical_index(footprint_id)
        up = self._store.upstream(np.array([i], dtype=np.int64))
        r, c, v = self._store.rows(up)
        k = up.size
        a = sp.csr_array((v, (np.searchsorted(up, c), np.searchsorted(up, r))), shape=(k, k))
        return up, a, int(np.searchsorted(up, i))

    def supply(self, footprint_id: str) -> dict[str, float]:
        """Declared units of every upstream footprint needed per 1 unit of this one."""
        up, a, root = self._upstream_system(footprint_id)
        s = self._supply_vector(up, a, root)
        return {self._ids[j]: float(s[p]) for p, j in enumerate(up.tolist()) if s[p] != 0.0}

    def _supply_vector(self, up: IntArray, a: sp.csr_array, root: int) -> FloatArray:
        delta = np.zeros(up.size)
        delta[root] = 1.0
        return build_plan(a, [self._ids[j] for j in up.tolist()]).solve(delta)

    def result(self, footprint_id: str, *, max_tier: int = 10) -> ComputedFootprint:
        """Everything a computed footprint carries (see :class:`ComputedFootprint`)."""
        self._ensure()
        up, a, root = self._upstream_system(footprint_id)
        s = self._supply_vector(up, a, root)
        e_up = self._e[up]
        tiers: list[float] = []
        vec = np.zeros(up.size)
        vec[root] = 1.0
        with np.errstate(over="ignore", invalid="ignore"):  # checked below: OutOfRangeError
            for _ in range(max_tier):
                tiers.append(float(e_up @ vec))
                vec = a @ vec
        up_indexes = up.tolist()
        upstream = (
            (float(s[p]), self._company[j], direct, self._problems.get(j, ((), ())))
            for p, (j, direct) in enumerate(
                zip(up_indexes, self._direct.items_of(up_indexes), strict=True)
            )
        )
        result = assemble(
            self.declaration(footprint_id),
            self.total(footprint_id),
            upstream,
            tiers,
            self.tolerance,
        )
        if not result.is_finite():
            raise OutOfRangeError(footprint_id)
        return result

    def contributions(
        self,
        footprint_id: str,
        *,
        cutoff: float = 0.01,
        max_depth: int = 4,
        max_children: int = 10,
    ) -> ContributionNode:
        """Contribution tree of the top contributors (see :mod:`graph.contributions`)."""
        if not math.isfinite(self.total(footprint_id)):
            raise OutOfRangeError(footprint_id)
        return contribution_tree(
            self.upstream_graph(footprint_id, max_depth=max_depth),
            self.total,
            footprint_id,
            cutoff=cutoff,
            max_depth=max_depth,
            max_children=max_children,
        )
