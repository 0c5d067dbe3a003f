"""From declarations to the supply graph: resolve references, convert units, find gaps.

``build_node`` turns one :class:`FootprintDeclaration` into the coefficients of its row of
``Aᵀ`` (upstream footprint id → amount per 1 declared unit, duplicates *summed*) and its direct
term (own emissions, factor inputs, recycling burdens, per 1 declared unit). Lines that cannot
be used are reported — a :class:`Gap` (nothing active to point at) or an :class:`InputError`
(e.g. a unit that does not convert) — and never silently become zero without a trace.

:class:`Registry` is the resolution index (ids, ``(productId, companyId)`` → active footprints,
factors, and who references what, so incremental updates know whom a new footprint affects).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

import networkx as nx

from graph.circular import CffTerms, cff, cut_off
from graph.declarations import Declarations
from graph.errors import InvalidParameterError, UnitConversionError
from graph.id_index import IdIndex
from graph.model import (
    CitedRef,
    DataQuality,
    EmissionFactor,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    InputRef,
    ProductRef,
    Scope,
    Stage,
)
from graph.sharing import Sharing
from graph.units import conversion_factor
from ledger.slots_pickle import SlotsPickle

_EPOCH = datetime.min
#: a cited reference as an index key (see :func:`_ref_key`)
_RefKey = str | tuple[str, str]


class DirectItem(NamedTuple):
    """One term of a footprint's direct emissions, kgCO2e per 1 declared unit.

    ``kind`` is ``own`` (declared by the company: primary data), ``factor`` (secondary emission
    factor) or ``recycling`` (recycling burden of a recycled-content input, or the constant
    of a CFF line: recycled content, end-of-life credits, energy recovery and disposal).
    """

    kind: Literal["own", "factor", "recycling"]
    label: str
    stage: Stage
    scope: Scope
    kg_co2e: float
    dqr: DataQuality


@dataclass(frozen=True, slots=True)
class Gap(SlotsPickle):
    """An input whose reference names nothing active: reported, contributes nothing."""

    footprint_id: str
    line: int
    ref: InputRef
    reason: str


@dataclass(frozen=True, slots=True)
class InputError(SlotsPickle):
    """An input that cannot be used as stated (e.g. unit not convertible)."""

    footprint_id: str
    line: int
    message: str


class NodeBuild(NamedTuple):
    """A footprint's row of ``Aᵀ`` and its direct term, per 1 declared unit."""

    inputs: dict[str, float]
    direct: tuple[DirectItem, ...]
    direct_total: float
    gaps: tuple[Gap, ...]
    errors: tuple[InputError, ...]


class Registry:
    """Active footprints and factors, with the indexes reference resolution needs.

    ``company_owners`` (company id → org), when given, is the ledger's binding of company
    ids to organisations: a ``(productId, companyId)`` reference then resolves only to
    footprints declared by the company's owner (``ledger.rules.carbon.cited_footprint``),
    and to nothing for an unbound id. ``sharing``, when given, says which other orgs'
    footprints a citing org may follow (``graph.sharing``); one it may not is treated
    as not active. Both are read live, so their keeper updates them in place and
    re-applies the affected footprints.

    Its indexes are :class:`IdIndex` multimaps, sized for 10⁶ footprints. Who cites a
    footprint is known from the matrix once a citation resolves (its consumers); the
    registry keeps only the citations that did not (:meth:`record_unresolved`), which a new
    footprint may be the first to satisfy. Indexing every citation cost a third of the
    build and a dict entry per cited key (≈1.6·10⁶ at 10⁶ footprints).
    """

    def __init__(
        self,
        factors: Iterable[EmissionFactor] = (),
        company_owners: Mapping[str, str] | None = None,
        sharing: Sharing | None = None,
    ) -> None:
        self.company_owners = company_owners
        self.sharing = sharing
        self.footprints = Declarations()
        self.factors: dict[FactorRef, EmissionFactor] = {f.ref: f for f in factors}
        self._by_product: IdIndex[tuple[str, str]] = IdIndex()
        #: cited key → footprints with a line citing it that became no coefficient
        self._unresolved: IdIndex[_RefKey] = IdIndex()
        #: footprint → its keys in ``_unresolved`` (only footprints that have any)
        self._unresolved_of: dict[str, list[_RefKey]] = {}

    @staticmethod
    def _product_keys(decl: FootprintDeclaration) -> list[tuple[str, str]]:
        return [(p, c) for p in decl.product_ids for c in decl.company_ids]

    def add(self, decl: FootprintDeclaration) -> None:
        """Register an active footprint (its id must be new)."""
        fid = decl.id
        if fid in self.footprints:
            raise InvalidParameterError(f"footprint {fid} is already active")
        self.footprints[fid] = decl
        self._by_product.add(self._product_keys(decl), fid)

    def remove(self, footprint_id: str) -> FootprintDeclaration:
        """Unregister a superseded or deprecated footprint."""
        decl = self.footprints.pop(footprint_id)
        for key in self._product_keys(decl):
            self._by_product.discard(key, decl.id)
        self.record_unresolved(decl, None)
        return decl

    def record_unresolved(self, decl: FootprintDeclaration, build: NodeBuild | None) -> None:
        """Remember which of ``decl``'s citations its latest ``build`` could not use (a gap,
        or an upstream whose unit does not convert), replacing what was remembered."""
        fid = decl.id
        for key in self._unresolved_of.pop(fid, ()):
            self._unresolved.discard(key, fid)
        if build is None or not (build.gaps or build.errors):
            return
        lines = [gap.line for gap in build.gaps] + [error.line for error in build.errors]
        keys = [_ref_key(decl.inputs[n].ref) for n in lines]
        cited = [key for key in keys if key is not None]
        if cited:
            self._unresolved.add(cited, fid)
            self._unresolved_of[fid] = cited

    def waiting_for(self, decl: FootprintDeclaration) -> set[str]:
        """Active footprints with a citation of ``decl`` (by id or product) that resolved to
        nothing usable at their last build."""
        out = set(self._unresolved.get(decl.id))
        for key in self._product_keys(decl):
            out.update(self._unresolved.get(key))
        return out

    def same_product(self, decl: FootprintDeclaration) -> set[str]:
        """Other active footprints under any of ``decl``'s ``(productId, companyId)`` keys:
        a product citation that resolved to one of them may resolve to ``decl`` now."""
        out: set[str] = set()
        for key in self._product_keys(decl):
            out.update(self._by_product.get(key))
        out.discard(decl.id)
        return out

    def resolve(self, ref: CitedRef, citer_org: str | None) -> FootprintDeclaration | None:
        """The footprint a reference of ``citer_org`` names now (newest ``created`` wins a
        product tie)."""
        if isinstance(ref, FootprintRef):
            found = self.footprints.get(ref.footprint_id)
            return found if found is not None and self._follows(citer_org, found) else None
        candidates = self._by_product.get((ref.product_id, ref.company_id))
        if candidates and self.company_owners is not None:
            owner = self.company_owners.get(ref.company_id)
            candidates = [i for i in candidates if self.footprints[i].org_id == owner]
        if len(candidates) == 1:  # the usual case: one active footprint of the product
            found = self.footprints[next(iter(candidates))]
            return found if self._follows(citer_org, found) else None
        decls = [
            self.footprints[i] for i in candidates if self._follows(citer_org, self.footprints[i])
        ]
        if not decls:
            return None
        return max(decls, key=lambda d: (d.created or _EPOCH, d.id))

    def _follows(self, citer_org: str | None, decl: FootprintDeclaration) -> bool:
        return self.sharing is None or self.sharing.follows(citer_org, decl)


def _ref_key(ref: InputRef) -> _RefKey | None:
    """A cited reference as a plain key: a footprint id, or ``(productId, companyId)``;
    ``None`` for a factor. Strings cache their hash and tuples hash in C, where a
    dataclass's ``__hash__`` is a Python call per lookup."""
    if isinstance(ref, FootprintRef):
        return ref.footprint_id
    if isinstance(ref, ProductRef):
        return (ref.product_id, ref.company_id)
    return None


@functools.cache
def factor_label(ref: FactorRef) -> str:
    """The label of a factor's line in a contribution tree: names the factor uniquely, so a
    reader can look up what the factor states (value, unit, gases, source). Cached: one
    string per factor, however many lines use it."""
    return f"factor {ref.set_id}/{ref.version}/{ref.key}"


@functools.cache
def _own_label(stage: Stage, scope: Scope) -> str:
    """One shared label string per stage and scope (10⁶ footprints, a handful of labels)."""
    return f"{stage} scope {scope}"


_PLAIN = CffTerms(1.0, 0.0, 0.0)


@functools.lru_cache(maxsize=1024)
def _per_unit(declared_unit_amount: Decimal) -> float:
    """``1 / declaredUnitAmount`` as a float, remembered (a handful of amounts, 10⁶
    footprints; a ``Decimal`` caches its hash, its conversion to float goes via a string)."""
    return 1.0 / float(declared_unit_amount)


@functools.cache
def _conversion(from_unit: str, to_unit: str) -> float:
    """:func:`conversion_factor`, remembered per pair of unit names (a handful of pairs,
    millions of lines). A pair that does not convert raises each time: not cached."""
    return 1.0 if from_unit == to_unit else conversion_factor(from_unit, to_unit)


def _recycling(line: InputLine) -> CffTerms:
    """The line's coefficient on the virgin intensity and its direct constants per unit,
    by the method its declaration states (:class:`FootprintDeclaration` ``end_of_life``):
    cut-off is a coefficient and a constant, the CFF adds end-of-life terms."""
    if line.cff is not None:
        return cff(line.cff)
    rc = line.recycled_content
    if rc is None:
        return _PLAIN
    return CffTerms(*cut_off(float(rc.share), float(rc.recycling_burden_kgco2e_per_unit)), 0.0)


def build_node(decl: FootprintDeclaration, registry: Registry) -> NodeBuild:
    """Resolve, convert and normalise one declaration to 1 declared unit.

    This runs once per footprint when an engine is built (10⁶ times for the largest
    benchmark), so it avoids per-line work that can be shared: labels are cached and a line
    without recycled content skips the recycling terms."""
    per_unit = _per_unit(decl.declared_unit_amount)
    inputs: dict[str, float] = {}
    direct: list[DirectItem] = [
        DirectItem(
            "own",
            _own_label(o.stage, o.scope),
            o.stage,
            o.scope,
            float(o.kg_co2e) * per_unit,
            decl.dqr,
        )
        for o in decl.own_emissions
    ]
    gaps: list[Gap] = []
    errors: list[InputError] = []
    for n, line in enumerate(decl.inputs):
        amount = float(line.amount) * per_unit
        plain = line.cff is None and line.recycled_content is None
        terms = _PLAIN if plain else _recycling(line)
        ref = line.ref
        if isinstance(ref, FactorRef):
            factor = registry.factors.get(ref)
            if factor is None:
                gaps.append(Gap(decl.id, n, ref, "unknown emission factor"))
                continue  # a gap line contributes nothing, not even its recycling burden
            try:
                conv = _conversion(line.unit, factor.unit)
            except UnitConversionError as e:
                errors.append(InputError(decl.id, n, f"factor {ref.key}: {e}"))
                continue
            value = amount * conv * terms.coefficient * float(factor.value)
            direct.append(
                DirectItem("factor", factor_label(ref), line.stage, line.scope, value, factor.dqr)
            )
        else:
            upstream = registry.resolve(ref, decl.org_id)
            if upstream is None:
                reason = "no active footprint for product/company"
                if isinstance(ref, FootprintRef):
                    reason = "footprint is not active"
                gaps.append(Gap(decl.id, n, ref, reason))
                continue
            weight = amount  # in the upstream's declared unit, times the virgin share
            if line.unit != upstream.declared_unit:
                try:
                    weight *= _conversion(line.unit, upstream.declared_unit)
                except UnitConversionError as e:
                    errors.append(InputError(decl.id, n, f"input {upstream.id}: {e}"))
                    continue
            if not plain:
                weight *= terms.coefficient
            fid = upstream.id
            inputs[fid] = inputs.get(fid, 0.0) + weight
        if plain:
            continue
        constants: tuple[tuple[str, Stage, float], ...] = (
            (f"recycled content of input {n}", line.stage, terms.constant),
            (f"end of life (CFF) of input {n}", "end-of-life-recycling", terms.end_of_life),
        )
        direct.extend(
            DirectItem("recycling", label, stage, line.scope, amount * value, decl.dqr)
            for label, stage, value in constants
            if value != 0.0
        )
    total = float(sum(item.kg_co2e for item in direct))
    return NodeBuild(inputs, tuple(direct), total, tuple(gaps), tuple(errors))


def set_node(graph: nx.DiGraph, footprint_id: str, build: NodeBuild) -> None:
    """(Re)place a node's in-edges and attributes in the networkx model."""
    if graph.has_node(footprint_id):
        graph.remove_edges_from(list(graph.in_edges(footprint_id)))
    graph.add_node(footprint_id, build=build)
    graph.add_edges_from((u, footprint_id, {"weight": w}) for u, w in build.inputs.items())


def build_supply_graph(
    declarations: Iterable[FootprintDeclaration],
    factors: Iterable[EmissionFactor] = (),
) -> nx.DiGraph:
    """The networkx model of a set of active footprints: node per footprint, edge input → product.

    Edge attribute ``weight``: amount of the input per 1 declared unit of the product, after
    unit conversion, summed over duplicate lines. Node attribute ``build``: :class:`NodeBuild`.
    """
    registry = Registry(factors)
    decls = list(declarations)
    for decl in decls:
        registry.add(decl)
    graph = nx.DiGraph()
    graph.add_nodes_from(d.id for d in decls)
    for decl in decls:
        set_node(graph, decl.id, build_node(decl, registry))
    return graph
