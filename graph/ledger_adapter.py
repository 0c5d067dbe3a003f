"""The narrow interface between the ledger and the engine.

Replays the entries that shape the supply graph (``factors.publish``,
``footprint``, ``footprint.deprecate``) in log order and turns each into the
engine's input model: which declarations become active, which stop being
active (a successor names them in ``precedingPfIds``, or a deprecation), and
which factors exist. The gateway, the auditor and the demo all build their
engines through here, so they compute over the same active set.
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
from ledger.entries import Entry
from ledger.entries.carbon.factors import FactorsPublish
from ledger.entries.carbon.footprint import Footprint, FootprintDeprecate, Input

#: The entry types that change what the engine computes over.
ENGINE_ENTRY_TYPES: frozenset[str] = frozenset(
    {"factors.publish", "footprint", "footprint.deprecate"}
)


def declaration_from_entry(entry: Footprint) -> FootprintDeclaration:
    fp = entry.footprint
    pcf = fp.pcf
    dqi = pcf.dqi
    return FootprintDeclaration(
        id=fp.id,
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

    def apply(self, entry: Entry) -> FootprintChange:
        change = FootprintChange()
        if isinstance(entry, FactorsPublish):
            change.factors = factors_from_entry(entry)
            self.factors.extend(change.factors)
        elif isinstance(entry, Footprint):
            for predecessor in entry.footprint.precedingPfIds or ():
                if self.declarations.pop(predecessor, None) is not None:
                    change.removed.append(predecessor)
            declaration = declaration_from_entry(entry)
            self.declarations[declaration.id] = declaration
            change.added.append(declaration)
        elif isinstance(entry, FootprintDeprecate):
            if self.declarations.pop(entry.footprintId, None) is not None:
                change.removed.append(entry.footprintId)
        return change

    def apply_all(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.apply(entry)

    def engine(self, *, tolerance: float = 0.05) -> FootprintEngine:
        """A computed engine over the current active set."""
        engine = FootprintEngine(self.declarations.values(), self.factors, tolerance=tolerance)
        engine.compute()
        return engine
