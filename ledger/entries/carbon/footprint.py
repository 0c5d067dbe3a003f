"""``footprint`` and ``footprint.deprecate``: a supplier's product carbon footprint.

A ``footprint`` entry carries a PACT v3.0 ProductFootprint (``footprint``) and
its ``composition``: the supplier's own emissions per declared unit, by life
cycle stage and GHG Protocol scope, and the inputs per declared unit with what
each input's footprint comes from (another footprint, another supplier's
product, or a published emission factor).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from ledger.entries.base import Entry, EntryId, Text, Urn, entry_type
from ledger.entries.carbon.battery import BatteryFacts
from ledger.entries.carbon.common import (
    DecimalString,
    Ident,
    NonNegativeDecimal,
    PositiveDecimal,
    Scope,
    Share,
    Slug,
    Strict,
    Uuid,
    check_unique,
    fail,
)
from ledger.entries.carbon.pact import ProductFootprint

# Unit names accepted for amounts (the PACT declared units and common activity units).
# Conversion between them is pint's job; here only the names are checked.
Unit = Literal[
    "liter",
    "kilogram",
    "gram",
    "tonne",
    "cubic meter",
    "kilowatt hour",
    "megawatt hour",
    "megajoule",
    "gigajoule",
    "ton kilometer",
    "square meter",
    "piece",
    "hour",
    "megabit second",
]
# Life cycle stages of the EU Battery Regulation carbon footprint declaration.
Stage = Literal[
    "raw-material-acquisition",
    "main-production",
    "distribution",
    "end-of-life-recycling",
]
# Declared units a battery footprint can be expressed in: one battery, or its usable energy.
BATTERY_DECLARED_UNITS = frozenset({"piece", "kilowatt hour", "megajoule"})
FactorVersion = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")]


class FactorRef(Strict):
    """A factor of a published ``factors.publish`` set."""

    setId: Slug
    version: FactorVersion
    key: Slug


class OwnEmission(Strict):
    """The supplier's own emissions per declared unit in one stage and scope."""

    stage: Stage
    scope: Scope
    kgCO2e: DecimalString
    activityBatches: Annotated[list[EntryId], Field(min_length=1, max_length=1000)] | None = None
    factors: Annotated[list[FactorRef], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _unique(self) -> Self:
        check_unique("activityBatches", self.activityBatches)
        check_unique("factors", self.factors)
        return self


class RecycledContent(Strict):
    share: Share
    recyclingBurdenKgCO2ePerUnit: NonNegativeDecimal


class EnergyRecovery(Strict):
    """The CFF energy-recovery data of a material, per unit of the input line:
    ``EER`` kgCO2e of the recovery process, ``LHV`` MJ, efficiencies ``XERheat`` and
    ``XERelec``, ``ESEheat``/``ESEelec`` kgCO2e per MJ of the heat and electricity the
    recovered energy substitutes."""

    EER: NonNegativeDecimal
    LHV: NonNegativeDecimal
    XERheat: Share
    XERelec: Share
    ESEheat: NonNegativeDecimal
    ESEelec: NonNegativeDecimal


class Cff(Strict):
    """Circular Footprint Formula parameters of one input line (PEF method symbols).

    Emission values are kgCO2e per unit of the line. ``R1``/``Erecycled`` state the line's
    recycled content (so the line has no ``recycledContent``); ``Erecycled`` is required
    when ``R1`` > 0, ``energyRecovery`` when ``R3`` > 0. ``B`` and ``R3`` default to 0 (B = 0
    is the PEF default); ``Ev`` defaults to the cited footprint's or factor's intensity.
    """

    A: Share
    B: Share | None = None
    R1: Share
    R2: Share
    R3: Share | None = None
    QsinQp: Share
    QsoutQp: Share
    Erecycled: NonNegativeDecimal | None = None
    ErecyclingEoL: NonNegativeDecimal
    EvStar: NonNegativeDecimal
    Ev: NonNegativeDecimal | None = None
    ED: NonNegativeDecimal
    energyRecovery: EnergyRecovery | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if Decimal(self.R1) > 0 and self.Erecycled is None:
            raise fail(("Erecycled",), "required when R1 > 0")
        r3 = Decimal(self.R3 or 0)
        if Decimal(self.R2) + r3 > 1:
            raise fail(("R3",), "R2 + R3 (shares recycled and recovered) must not exceed 1", r3)
        if r3 > 0 and self.energyRecovery is None:
            raise fail(("energyRecovery",), "required when R3 > 0")
        return self


class EndOfLife(Strict):
    """How the footprint accounts for recycled content and end of life: ``cut-off`` (inputs
    may state ``recycledContent``) or ``cff`` (inputs may state ``cff`` parameters)."""

    method: Literal["cut-off", "cff"]


class Input(Strict):
    """An input per declared unit, citing exactly one source of its footprint."""

    amount: PositiveDecimal
    unit: Unit
    footprintId: Uuid | None = None
    productId: Urn | None = None
    companyId: Urn | None = None
    factor: FactorRef | None = None
    recycledContent: RecycledContent | None = None
    cff: Cff | None = None
    # How the emissions this line adds directly (a factor's, a recycling burden) are
    # classified for the declaring company; an upstream footprint keeps its own stages.
    # Defaults: raw-material-acquisition and scope 3.
    stage: Stage | None = None
    scope: Scope | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.productId is None) != (self.companyId is None):
            missing = "companyId" if self.companyId is None else "productId"
            raise fail((missing,), "productId and companyId go together")
        given = [
            name
            for name, value in (
                ("footprintId", self.footprintId),
                ("productId", self.productId),
                ("factor", self.factor),
            )
            if value is not None
        ]
        if not given:
            raise fail(
                ("footprintId",),
                "exactly one of footprintId, productId+companyId or factor is required",
            )
        if len(given) > 1:
            raise fail((given[1],), f"not allowed together with {given[0]}")
        if self.cff is not None and self.recycledContent is not None:
            raise fail(("recycledContent",), "not allowed with cff (state R1 and Erecycled)")
        return self


class Composition(Strict):
    ownEmissions: Annotated[list[OwnEmission], Field(max_length=100)]
    inputs: Annotated[list[Input], Field(max_length=1000)]
    batchId: Ident | None = None
    # Declared units produced over the metered period: the allocation basis that turns
    # cited activity batches into per-unit own emissions (graph.activity).
    producedAmount: PositiveDecimal | None = None
    # The recycled-content and end-of-life method; absent means cut-off.
    endOfLife: EndOfLife | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.ownEmissions and not self.inputs:
            raise fail(("ownEmissions",), "a composition needs own emissions or inputs")
        check_unique("ownEmissions", [(e.stage, e.scope) for e in self.ownEmissions])
        for index, item in enumerate(self.inputs):
            if self.method == "cut-off" and item.cff is not None:
                raise fail(("inputs", index, "cff"), 'cff parameters need endOfLife.method "cff"')
            if self.method == "cff" and item.recycledContent is not None:
                raise fail(
                    ("inputs", index, "recycledContent"),
                    "under the cff method recycled content is stated as cff R1 and Erecycled",
                )
        return self

    @property
    def method(self) -> Literal["cut-off", "cff"]:
        """The declared end-of-life method (cut-off when not stated)."""
        return "cut-off" if self.endOfLife is None else self.endOfLife.method


@entry_type("footprint", signer_roles={"supplier"})
class Footprint(Entry):
    """A supplier declares the footprint of one of its products (or product batches)."""

    type: Literal["footprint"]
    footprint: ProductFootprint
    composition: Composition
    # The EU Battery Regulation declaration's facts, for a battery's footprint.
    battery: BatteryFacts | None = None

    @model_validator(mode="after")
    def _ledger_rules(self) -> Self:
        fp = self.footprint
        unit = fp.pcf.declaredUnitOfMeasurement
        if self.battery is not None and unit not in BATTERY_DECLARED_UNITS:
            raise fail(
                ("battery",),
                "battery facts need the declared unit piece (one battery) or an energy unit "
                f"(of usable energy), not {unit}",
            )
        # Which company ids the signer may name is a stateful rule: the operator binds
        # them (ledger.rules.carbon). A new declaration is active; deprecation is a
        # footprint.deprecate entry.
        if fp.status != "Active":
            raise fail(("footprint", "status"), "a footprint entry must be Active", fp.status)
        for index, item in enumerate(self.composition.inputs):
            if item.footprintId == fp.id:
                raise fail(
                    ("composition", "inputs", index, "footprintId"),
                    "an input cannot be the footprint itself",
                    item.footprintId,
                )
            if item.productId in fp.productIds and item.companyId in fp.companyIds:
                raise fail(
                    ("composition", "inputs", index, "productId"),
                    "an input cannot be the declared product itself",
                    item.productId,
                )
            if fp.precedingPfIds is not None and item.footprintId in fp.precedingPfIds:
                raise fail(
                    ("composition", "inputs", index, "footprintId"),
                    "an input cannot be a preceding version of this footprint",
                    item.footprintId,
                )
        return self


@entry_type("footprint.deprecate", signer_roles={"supplier"})
class FootprintDeprecate(Entry):
    """A supplier marks one of its footprints Deprecated without replacing it."""

    type: Literal["footprint.deprecate"]
    footprintId: Uuid
    reason: Text
