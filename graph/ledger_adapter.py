"""The narrow interface between the ledger and the engine.

Replays the entries that shape the supply graph (``factors.publish``,
``footprint``, ``footprint.deprecate``, and ``org.enroll``/``org.companies``,
which bind company ids to organisations) in log order and turns each into the
engine's input model: which declarations become active, which stop being
active (a successor names them in ``precedingPfIds``, or a deprecation), which
factors exist, and which org owns each company id (a ``(productId, companyId)``
input resolves to that org's footprint, as the ledger's rules resolve it). The
gateway, the auditor and the demo all build their engines through here, so they
compute over the same active set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from graph.engine import FootprintEngine
from graph.model import (
    DataQuality,
    EmissionFactor,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
    ProductRef,
    RecycledContent,
)
from ledger.entries import Entry, OrgEnroll
from ledger.entries.carbon.factors import FactorsPublish
from ledger.entries.carbon.footprint import Footprint, FootprintDeprecate, Input
from ledger.entries.identity import OrgCompanies

#: The entry types that change what the engine computes over.
ENGINE_ENTRY_TYPES: frozenset[str] = frozenset(
    {"factors.publish", "footprint", "footprint.deprecate", "org.enroll", "org.companies"}
)


def declaration_from_entry(entry: Footprint) -> FootprintDeclaration:
    fp = entry.footprint
    pcf = fp.pcf
    dqi = pcf.dqi
    return FootprintDeclaration(
        id=fp.id,
        org_id=entry.org,
        company_ids=tuple(fp.companyIds),
        product_ids=tuple(fp.productIds),
        declared_unit=pcf.declaredUnitOfMeasurement,
        declared_unit_amount=Decimal(pcf.declaredUnitAmount),
        own_emissions=tuple(
            OwnEmission(own.stage, own.scope, Decimal(own.kgCO2e))
            for own in entry.composition.ownEmissions
        ),
        inputs=tuple(_input_line(item) for item in entry.composition.inputs),
        declared_pcf=Decimal(pcf.pcfExcludingBiogenicUptake),
        primary_data_share=(
            None if pcf.primaryDataShare is None else Decimal(pcf.primaryDataShare)
        ),
        dqr=DataQuality(
            technological=Decimal(dqi.technologicalDQR),
            geographical=Decimal(dqi.geographicalDQR),
            temporal=Decimal(dqi.temporalDQR),
        )
        if dqi is not None
        else DataQuality(),
        created=datetime.fromisoformat(fp.created.replace("Z", "+00:00")),
    )


def _input_line(item: Input) -> InputLine:
    ref: FootprintRef | ProductRef | FactorRef
    if item.footprintId is not None:
        ref = FootprintRef(item.footprintId)
    elif item.factor is not None:
        ref = FactorRef(item.factor.setId, item.factor.version, item.factor.key)
    else:
        assert item.productId is not None
        assert item.companyId is not None
        ref = ProductRef(item.productId, item.companyId)
    recycled = item.recycledContent
    return InputLine(
        ref=ref,
        amount=Decimal(item.amount),
        unit=item.unit,
        stage=item.stage or "raw-material-acquisition",
        scope=item.scope or "3",
        recycled_content=None
        if recycled is None
        else RecycledContent(
            Decimal(recycled.share), Decimal(recycled.recyclingBurdenKgCO2ePerUnit)
        ),
    )


def factors_from_entry(entry: FactorsPublish) -> list[EmissionFactor]:
    return [
        EmissionFactor(entry.setId, entry.version, f.key, Decimal(f.value), f.unit)
        for f in entry.factors
    ]


@dataclass
class FootprintChange:
    """What one entry changes in the active set (for ``FootprintEngine.apply``)."""

    added: list[FootprintDeclaration] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    factors: list[EmissionFactor] = field(default_factory=list)


class ActiveFootprints:
    """The active declarations and published factors as of the entries applied so far."""

    def __init__(self) -> None:
        self.declarations: dict[str, FootprintDeclaration] = {}
        self.factors: list[EmissionFactor] = []
        # company id -> org, shared with the engines built here (read live by resolution)
        self.company_owners: dict[str, str] = {}
        self._companies_of: dict[str, tuple[str, ...]] = {}
        # company id -> ids of the active declarations naming it (what a rebinding touches)
        self._naming: dict[str, set[str]] = {}

    def apply(self, entry: Entry) -> FootprintChange:
        change = FootprintChange()
        if isinstance(entry, FactorsPublish):
            change.factors = factors_from_entry(entry)
            self.factors.extend(change.factors)
        elif isinstance(entry, Footprint):
            for predecessor in entry.footprint.precedingPfIds or ():
                self._remove(predecessor, change)
            declaration = declaration_from_entry(entry)
            self.declarations[declaration.id] = declaration
            for company in declaration.company_ids:
                self._naming.setdefault(company, set()).add(declaration.id)
            change.added.append(declaration)
        elif isinstance(entry, FootprintDeprecate):
            self._remove(entry.footprintId, change)
        elif isinstance(entry, OrgEnroll):
            self._bind(entry.orgId, entry.company_ids, change)
        elif isinstance(entry, OrgCompanies):
            self._bind(entry.orgId, tuple(entry.companyIds), change)
        return change

    def _bind(self, org_id: str, company_ids: tuple[str, ...], change: FootprintChange) -> None:
        """Rebind ``org_id``'s company ids. Active declarations naming a company whose
        owner changed are re-applied (removed and added again), so the engine
        re-resolves the inputs that cite them. Only entries the ledger's rules accepted
        come here, so no id is bound to two orgs."""
        previous = self._companies_of.get(org_id, ())
        for company in previous:
            del self.company_owners[company]
        self._companies_of[org_id] = company_ids
        for company in company_ids:
            self.company_owners[company] = org_id
        touched: set[str] = set()
        for company in set(previous).symmetric_difference(company_ids):
            touched |= self._naming.get(company, set())
        for footprint_id in sorted(touched):
            change.removed.append(footprint_id)
            change.added.append(self.declarations[footprint_id])

    def _remove(self, footprint_id: str, change: FootprintChange) -> None:
        declaration = self.declarations.pop(footprint_id, None)
        if declaration is None:
            return
        for company in declaration.company_ids:
            self._naming[company].discard(footprint_id)
        change.removed.append(footprint_id)

    def apply_all(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.apply(entry)

    def engine(self, *, tolerance: float = 0.05) -> FootprintEngine:
        """A computed engine over the current active set."""
        engine = FootprintEngine(
            self.declarations.values(),
            self.factors,
            tolerance=tolerance,
            company_owners=self.company_owners,
        )
        engine.compute()
        return engine
