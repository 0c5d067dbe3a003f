"""What a computed footprint carries, and how one is assembled from a supply vector.

For product ``i`` the supply vector ``s = (I − A)⁻¹ δ_i`` says how many declared units of every
upstream footprint one unit of ``i`` needs, loops included. Each direct item of footprint ``j``
then contributes ``s_j · item`` to ``i``: breakdowns by stage, scope, supplier, primary/secondary
and DQR weights are sums of those contributions, so they add up to the total exactly, even
through recycling loops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from graph.circular import CffParameters, EndOfLifeMethod
from graph.model import DQR_FIELDS, STAGES, FootprintDeclaration
from graph.supply_graph import DirectItem, Gap, InputError


@dataclass(frozen=True, slots=True)
class EndOfLife:
    """The recycled-content and end-of-life method the footprint's own declaration states,
    and the CFF parameters of its input lines by line index (what a report shows with the
    total; upstream footprints state their own)."""

    method: EndOfLifeMethod
    cff: tuple[tuple[int, CffParameters], ...] = ()

    @classmethod
    def of(cls, decl: FootprintDeclaration) -> EndOfLife:
        lines = tuple((n, line.cff) for n, line in enumerate(decl.inputs) if line.cff)
        return cls(decl.end_of_life, lines)


@dataclass(frozen=True, slots=True)
class ComputedFootprint:
    """Cradle-to-gate result of one footprint, kgCO2e per 1 declared unit.

    ``by_tier["t"]`` is what arrives over supply paths of exactly ``t`` steps (0 = the product's
    own direct term); the last key ``"<max>+"`` holds the rest (deep chains and loop
    iterations). ``primary_data_share`` is in percent. ``dqr`` holds contribution-weighted
    ratings for the dimensions that have data. ``gaps``/``errors`` include upstream ones.
    ``declared`` is the supplier's signed ``pcfExcludingBiogenicUptake``, exactly;
    ``relative_difference`` is a fraction (the gateway serves it as a percent).
    """

    footprint_id: str
    company_id: str
    declared_unit: str
    total: float
    by_stage: dict[str, float]
    by_scope: dict[str, float]
    by_supplier: dict[str, float]
    by_tier: dict[str, float]
    primary_data_share: float | None
    dqr: dict[str, float]
    declared: Decimal | None
    relative_difference: float | None
    flagged: bool
    gaps: tuple[Gap, ...]
    errors: tuple[InputError, ...]
    end_of_life: EndOfLife

    @property
    def complete(self) -> bool:
        """No gap and no input error anywhere upstream."""
        return not self.gaps and not self.errors

    def is_finite(self) -> bool:
        """Whether every figure is a finite number (see ``OutOfRangeError``)."""
        figures = [self.total, *self.by_stage.values(), *self.by_scope.values()]
        figures += [*self.by_supplier.values(), *self.by_tier.values(), *self.dqr.values()]
        if self.primary_data_share is not None:
            figures.append(self.primary_data_share)
        if self.relative_difference is not None:
            figures.append(self.relative_difference)
        return all(math.isfinite(figure) for figure in figures)


def declared_comparison(
    declared: float | None, computed: float, tolerance: float
) -> tuple[float | None, bool]:
    """Relative difference ``(computed − declared) / declared`` and whether it exceeds tolerance."""
    if declared is None:
        return None, False
    if declared == 0.0:
        return None, computed != 0.0
    rel = (computed - declared) / abs(declared)
    return rel, abs(rel) > tolerance


def assemble(
    decl: FootprintDeclaration,
    total: float,
    upstream: Iterable[
        tuple[
            float,
            str,
            tuple[DirectItem, ...],
            tuple[Sequence[Gap], Sequence[InputError]],
        ]
    ],
    tiers: Sequence[float],
    tolerance: float,
) -> ComputedFootprint:
    """Aggregate ``(s_j, company_j, direct items_j, (gaps_j, errors_j))`` over the upstream
    set into a result (``company_j``: the company id the by-supplier breakdown attributes
    footprint ``j`` to, :attr:`FootprintDeclaration.company_id`)."""
    by_stage: dict[str, float] = {str(stage): 0.0 for stage in STAGES}
    by_scope = {"1": 0.0, "2": 0.0, "3": 0.0}
    by_supplier: dict[str, float] = {}
    primary = 0.0
    dqr_num = dict.fromkeys(DQR_FIELDS, 0.0)
    dqr_den = dict.fromkeys(DQR_FIELDS, 0.0)
    gaps: list[Gap] = []
    errors: list[InputError] = []
    for s, company, direct, (own_gaps, own_errors) in upstream:
        gaps += own_gaps
        errors += own_errors
        if s == 0.0:
            continue
        supplier_sum = 0.0
        for item in direct:
            c = s * item.kg_co2e
            by_stage[item.stage] += c
            by_scope[item.scope] += c
            supplier_sum += c
            if item.kind != "factor":
                primary += c
            for dim in DQR_FIELDS:
                rating = getattr(item.dqr, dim)
                if rating is not None:
                    dqr_num[dim] += abs(c) * float(rating)
                    dqr_den[dim] += abs(c)
        if supplier_sum != 0.0:
            by_supplier[company] = by_supplier.get(company, 0.0) + supplier_sum
    by_tier = {str(t): v for t, v in enumerate(tiers)}
    by_tier[f"{len(tiers)}+"] = total - sum(tiers)
    declared = None if decl.declared_pcf is None else float(decl.declared_pcf)
    rel, flagged = declared_comparison(declared, total, tolerance)
    return ComputedFootprint(
        footprint_id=decl.id,
        company_id=decl.company_id,
        declared_unit=decl.declared_unit,
        total=total,
        by_stage=by_stage,
        by_scope=by_scope,
        by_supplier=by_supplier,
        by_tier=by_tier,
        primary_data_share=100.0 * primary / total if total != 0.0 else None,
        dqr={k: dqr_num[k] / dqr_den[k] for k in DQR_FIELDS if dqr_den[k] > 0.0},
        declared=decl.declared_pcf,
        relative_difference=rel,
        flagged=flagged,
        gaps=tuple(gaps),
        errors=tuple(errors),
        end_of_life=EndOfLife.of(decl),
    )
