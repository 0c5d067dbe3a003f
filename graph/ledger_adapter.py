"""The narrow interface between the ledger and the engine.

Replays the entries that shape the supply graph (``factors.publish``,
``footprint``, ``footprint.deprecate``, ``org.enroll``/``org.companies``,
which bind company ids to organisations, and ``grant``/``grant.revoke``, which
decide whose footprints a citation may follow) in log order and turns each into
the engine's input model: which declarations become active, which stop being
active (a successor names them in ``precedingPfIds``, or a deprecation), which
factors exist, which org owns each company id (a ``(productId, companyId)``
input resolves to that org's footprint, as the ledger's rules resolve it) and
which footprints each org's citations may follow (``graph.sharing``). The
gateway, the auditor and the demo all build their engines through here, so they
compute over the same active set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from graph.circular import CffParameters, EnergyRecovery
from graph.declarations import Declarations
from graph.engine import FootprintEngine
from graph.id_index import IdIndex
from graph.model import (
    CitedRef,
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
from graph.sharing import Sharing
from ledger.entries import Entry, OrgEnroll
from ledger.entries.carbon.factors import FactorsPublish
from ledger.entries.carbon.footprint import Cff, Footprint, FootprintDeprecate, Input
from ledger.entries.carbon.grants import Grant, GrantRevoke
from ledger.entries.identity import OrgCompanies

#: The entry types that change what the engine computes over.
ENGINE_ENTRY_TYPES: frozenset[str] = frozenset(
    {
        "factors.publish",
        "footprint",
        "footprint.deprecate",
        "org.enroll",
        "org.companies",
        "grant",
        "grant.revoke",
    }
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
        dqr=_data_quality(dqi.technologicalDQR, dqi.geographicalDQR, dqi.temporalDQR)
        if dqi is not None
        else _NOT_RATED,
        created=datetime.fromisoformat(fp.created.replace("Z", "+00:00")),
        end_of_life=entry.composition.method,
    )


_NOT_RATED = DataQuality()


@functools.lru_cache(maxsize=4096)
def _data_quality(technological: str, geographical: str, temporal: str) -> DataQuality:
    """One object per distinct set of ratings (as signed, so ``1.50`` stays ``1.50``).
    Ratings take few values, and a direct item holds its footprint's: without this an
    engine of 10⁶ footprints holds 10⁶ equal objects, which its snapshot writes and loads
    one by one (1.4 s of a 10⁶-entry cold start)."""
    return DataQuality(Decimal(technological), Decimal(geographical), Decimal(temporal))


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
        cff=None if item.cff is None else cff_parameters(item.cff),
    )


def cff_parameters(c: Cff) -> CffParameters:
    """The engine's CFF parameters of an input line's ``cff`` (defaults as the entry states
    them: B, R3 and Erecycled 0, Ev the cited intensity)."""
    er = c.energyRecovery
    return CffParameters(
        a=Decimal(c.A),
        b=Decimal(c.B or 0),
        r1=Decimal(c.R1),
        r2=Decimal(c.R2),
        r3=Decimal(c.R3 or 0),
        qsin_qp=Decimal(c.QsinQp),
        qsout_qp=Decimal(c.QsoutQp),
        e_recycled=Decimal(c.Erecycled or 0),
        e_recycling_eol=Decimal(c.ErecyclingEoL),
        ev_star=Decimal(c.EvStar),
        ev=None if c.Ev is None else Decimal(c.Ev),
        ed=Decimal(c.ED),
        energy_recovery=None
        if er is None
        else EnergyRecovery(
            e_er=Decimal(er.EER),
            lhv=Decimal(er.LHV),
            x_er_heat=Decimal(er.XERheat),
            x_er_elec=Decimal(er.XERelec),
            e_se_heat=Decimal(er.ESEheat),
            e_se_elec=Decimal(er.ESEelec),
        ),
    )


def cff_fields(p: CffParameters) -> dict[str, Any]:
    """An input line's ``cff`` as the entry states it (the inverse of :func:`cff_parameters`,
    with the defaults written out): what a report shows next to the computed total."""
    er = p.energy_recovery
    return {
        "A": str(p.a),
        "B": str(p.b),
        "R1": str(p.r1),
        "R2": str(p.r2),
        "R3": str(p.r3),
        "QsinQp": str(p.qsin_qp),
        "QsoutQp": str(p.qsout_qp),
        "Erecycled": str(p.e_recycled),
        "ErecyclingEoL": str(p.e_recycling_eol),
        "EvStar": str(p.ev_star),
        "Ev": None if p.ev is None else str(p.ev),
        "ED": str(p.ed),
        "energyRecovery": None
        if er is None
        else {
            "EER": str(er.e_er),
            "LHV": str(er.lhv),
            "XERheat": str(er.x_er_heat),
            "XERelec": str(er.x_er_elec),
            "ESEheat": str(er.e_se_heat),
            "ESEelec": str(er.e_se_elec),
        },
    }


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

    @classmethod
    def merged(
        cls, changes: Iterable[FootprintChange], held: Callable[[str], bool]
    ) -> FootprintChange:
        """One change with the net effect of ``changes`` in order, for an engine holding
        the footprints for which ``held`` is true: one added and removed again among them
        never reaches it, one it holds that is removed and added again is re-applied.

        So an engine takes a batch of entries in one ``apply`` (one re-resolution, one
        solve) rather than one per entry: at 10⁵ bench footprints, 2,000 supersessions
        took 2.0 s as one update, against ≈70 ms each one by one. The result is the same:
        the engine reads owners and sharing live, from the active set after the whole
        batch, either way."""
        added: dict[str, FootprintDeclaration] = {}
        removed: dict[str, None] = {}  # an ordered set
        factors: list[EmissionFactor] = []
        for change in changes:
            factors += change.factors
            for footprint_id in change.removed:
                added.pop(footprint_id, None)
                if held(footprint_id):
                    removed[footprint_id] = None
            for declaration in change.added:
                added[declaration.id] = declaration
        return cls(list(added.values()), list(removed), factors)


class ActiveFootprints:
    """The active declarations and published factors as of the entries applied so far."""

    def __init__(self) -> None:
        self.declarations = Declarations()
        self.factors: list[EmissionFactor] = []
        # company id -> org, shared with the engines built here (read live by resolution)
        self.company_owners: dict[str, str] = {}
        # which other orgs' footprints each org's citations follow (read live by resolution)
        self.sharing = Sharing()
        self._companies_of: dict[str, tuple[str, ...]] = {}
        # company id -> ids of the active declarations naming it (what a rebinding touches)
        self._naming: IdIndex[str] = IdIndex()
        # (org, product id) -> ids of the org's active declarations of it (what a grant covers)
        self._owned: IdIndex[tuple[str | None, str]] = IdIndex()
        # (citing org, cited company id or footprint id) -> ids of its active declarations
        # citing it (what a new share touches)
        self._citing: IdIndex[tuple[str | None, str]] = IdIndex()

    def apply(self, entry: Entry, at_us: int | None = None) -> FootprintChange:
        """Apply one entry the ledger accepted, recorded at ``at_us`` (the record's signed
        timestamp; None replays a draft without records, with grant windows not applied)."""
        change = FootprintChange()
        if isinstance(entry, FactorsPublish):
            change.factors = factors_from_entry(entry)
            self.factors.extend(change.factors)
        elif isinstance(entry, Footprint):
            for predecessor in entry.footprint.precedingPfIds or ():
                self._remove(predecessor, change)
            declaration = declaration_from_entry(entry)
            # the rules accepted its citations under live grants: what they name now is shared
            for line in declaration.inputs:
                if isinstance(line.ref, FootprintRef | ProductRef):
                    self.sharing.share(entry.org, self._cited(line.ref))
            self._add(declaration)
            self.sharing.footprint_recorded(declaration, at_us)
            change.added.append(declaration)
        elif isinstance(entry, FootprintDeprecate):
            self._remove(entry.footprintId, change)
        elif isinstance(entry, OrgEnroll):
            self._bind(entry.orgId, entry.company_ids, change)
        elif isinstance(entry, OrgCompanies):
            self._bind(entry.orgId, tuple(entry.companyIds), change)
        elif isinstance(entry, Grant):
            covered = self._covered(entry.org, entry.footprintId, entry.productId)
            if self.sharing.grant_recorded(entry, at_us, covered):
                citing: set[str] = set()
                for footprint in covered:
                    for key in (footprint.id, *footprint.company_ids):
                        citing.update(self._citing.get((entry.grantee, key)))
                self._reapply(citing, change)
        elif isinstance(entry, GrantRevoke):
            self.sharing.grant_revoked(entry)
        return change

    def _cited(self, ref: CitedRef) -> list[FootprintDeclaration]:
        """The active footprints a citation may resolve to now (any owner)."""
        if isinstance(ref, FootprintRef):
            found = self.declarations.get(ref.footprint_id)
            return [] if found is None else [found]
        owner = self.company_owners.get(ref.company_id)
        if owner is None:
            return []
        return [
            fp
            for fp in self._covered(owner, None, ref.product_id)
            if ref.company_id in fp.company_ids
        ]

    def _covered(
        self, org: str, footprint_id: str | None, product_id: str | None
    ) -> list[FootprintDeclaration]:
        """``org``'s active footprints with this id or of this product."""
        if footprint_id is not None:
            found = self.declarations.get(footprint_id)
            return [] if found is None or found.org_id != org else [found]
        ids = self._owned.get((org, product_id or ""))
        return [self.declarations[i] for i in sorted(ids)]

    def _bind(self, org_id: str, company_ids: tuple[str, ...], change: FootprintChange) -> None:
        """Rebind ``org_id``'s company ids. Active declarations naming a company whose
        owner changed are re-applied, so the engine re-resolves the inputs that cite
        them. Only entries the ledger's rules accepted come here, so no id is bound to
        two orgs."""
        previous = self._companies_of.get(org_id, ())
        for company in previous:
            del self.company_owners[company]
        self._companies_of[org_id] = company_ids
        for company in company_ids:
            self.company_owners[company] = org_id
        touched: set[str] = set()
        for company in set(previous).symmetric_difference(company_ids):
            touched.update(self._naming.get(company))
        self._reapply(touched, change)

    def _reapply(self, footprint_ids: set[str], change: FootprintChange) -> None:
        """Remove and add again (the engine then resolves their inputs anew)."""
        for footprint_id in sorted(footprint_ids):
            change.removed.append(footprint_id)
            change.added.append(self.declarations[footprint_id])

    def _add(self, declaration: FootprintDeclaration) -> None:
        fid = declaration.id
        self.declarations[fid] = declaration
        self._naming.add(declaration.company_ids, fid)
        self._owned.add(((declaration.org_id, p) for p in declaration.product_ids), fid)
        self._citing.add(_cited_keys(declaration), fid)

    def _remove(self, footprint_id: str, change: FootprintChange) -> None:
        declaration = self.declarations.pop(footprint_id, None)
        if declaration is None:
            return
        for company in declaration.company_ids:
            self._naming.discard(company, footprint_id)
        for product in declaration.product_ids:
            self._owned.discard((declaration.org_id, product), footprint_id)
        for key in _cited_keys(declaration):
            self._citing.discard(key, footprint_id)
        change.removed.append(footprint_id)

    def apply_all(self, recorded: Iterable[tuple[Entry, int | None]]) -> None:
        """Apply ``(entry, record timestamp)`` pairs in log order."""
        for entry, at_us in recorded:
            self.apply(entry, at_us)

    def engine(self, *, tolerance: float = 0.05) -> FootprintEngine:
        """A computed engine over the current active set."""
        engine = FootprintEngine(
            self.declarations.values(),
            self.factors,
            tolerance=tolerance,
            company_owners=self.company_owners,
            sharing=self.sharing,
        )
        engine.compute()
        return engine


def _cited_keys(declaration: FootprintDeclaration) -> set[tuple[str | None, str]]:
    """(citing org, company id or footprint id) for each footprint ``declaration`` cites."""
    keys: set[tuple[str | None, str]] = set()
    for line in declaration.inputs:
        if isinstance(line.ref, FootprintRef):
            keys.add((declaration.org_id, line.ref.footprint_id))
        elif isinstance(line.ref, ProductRef):
            keys.add((declaration.org_id, line.ref.company_id))
    return keys
