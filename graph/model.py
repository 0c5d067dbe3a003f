"""Narrow, typed input model of the engine: what the ledger hands over, nothing more.

The ledger converts its signed PACT v3 entries into these frozen dataclasses; ``graph`` never
imports the ledger or a database, so the engine can be tested and benchmarked on its own.

Normalisation (applied by the engine, documented in ``docs/footprint-engine.md``):

* every quantity of a composition (own emissions, input amounts) is stated per
  ``declared_unit_amount`` of ``declared_unit``; the engine divides by
  ``declared_unit_amount`` and works per **1 declared unit**;
* ``declared_pcf`` (PACT ``pcfExcludingBiogenicUptake``) is already per 1 declared unit;
* an input amount is converted with pint from ``InputLine.unit`` to the upstream footprint's
  declared unit (or to the factor's unit) before it becomes a matrix coefficient;
* ``RecycledContent.recycling_burden_kgco2e_per_unit`` is per 1 ``InputLine.unit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from graph.circular import CffParameters, EndOfLifeMethod
from graph.errors import InvalidParameterError
from ledger.slots_pickle import SlotsPickle

Stage = Literal[
    "raw-material-acquisition", "main-production", "distribution", "end-of-life-recycling"
]
Scope = Literal["1", "2", "3"]
STAGES: tuple[Stage, ...] = (
    "raw-material-acquisition",
    "main-production",
    "distribution",
    "end-of-life-recycling",
)
SCOPES: tuple[Scope, ...] = ("1", "2", "3")


@dataclass(frozen=True, slots=True)
class OwnEmission(SlotsPickle):
    """Emissions the declaring company reports itself for one stage and scope."""

    stage: Stage
    scope: Scope
    kg_co2e: Decimal


@dataclass(frozen=True, slots=True)
class FootprintRef(SlotsPickle):
    """A specific footprint, by its PACT id."""

    footprint_id: str


@dataclass(frozen=True, slots=True)
class ProductRef(SlotsPickle):
    """The supplier's *current active* footprint for a product (resolved at compute time)."""

    product_id: str
    company_id: str


@dataclass(frozen=True, slots=True)
class FactorRef(SlotsPickle):
    """A published secondary emission factor (kgCO2e per factor unit)."""

    set_id: str
    version: str
    key: str


#: What an input cites when it is not a factor: another footprint, by id or by product.
CitedRef = FootprintRef | ProductRef
InputRef = FootprintRef | ProductRef | FactorRef


@dataclass(frozen=True, slots=True)
class RecycledContent(SlotsPickle):
    """Share of the input that is recycled, and the burden of recycling it (per input unit)."""

    share: Decimal
    recycling_burden_kgco2e_per_unit: Decimal

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.share <= Decimal(1):
            raise InvalidParameterError(f"recycled share {self.share} outside [0, 1]")
        if self.recycling_burden_kgco2e_per_unit < 0:
            raise InvalidParameterError("recycling burden must be ≥ 0")


@dataclass(frozen=True, slots=True)
class InputLine(SlotsPickle):
    """One input of a composition.

    ``stage``/``scope`` classify only the emissions this line adds *directly* to the product
    (a factor value or a recycling burden); emissions of an upstream footprint keep the stage
    and scope their own supplier declared. A line with ``cff`` parameters follows the
    Circular Footprint Formula (its R1 and E_recycled state the recycled content, so it has
    no ``recycled_content``); any other recycled content follows the cut-off approach.
    """

    ref: InputRef
    amount: Decimal
    unit: str
    recycled_content: RecycledContent | None = None
    cff: CffParameters | None = None
    stage: Stage = "raw-material-acquisition"
    scope: Scope = "3"

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise InvalidParameterError(f"input amount {self.amount} must be ≥ 0")
        if self.cff is not None and self.recycled_content is not None:
            raise InvalidParameterError("a CFF line states its recycled content as R1/E_recycled")


@dataclass(frozen=True, slots=True)
class DataQuality(SlotsPickle):
    """PACT v3 data quality ratings (1 = best … 3 = worst); ``None`` when not declared."""

    technological: Decimal | None = None
    geographical: Decimal | None = None
    temporal: Decimal | None = None
    completeness: Decimal | None = None
    reliability: Decimal | None = None


DQR_FIELDS: tuple[str, ...] = (
    "technological",
    "geographical",
    "temporal",
    "completeness",
    "reliability",
)


@dataclass(frozen=True, slots=True)
class FootprintDeclaration(SlotsPickle):
    """An active footprint as recorded on the ledger, with its composition.

    ``company_ids``/``product_ids`` are the PACT ``companyIds``/``productIds``; the first
    company id is the one used for the by-supplier breakdown. ``created`` breaks ties when
    several active footprints match a :class:`ProductRef` (the newest wins). ``org_id`` is
    the declaring organisation: when the engine knows which org each company id is bound
    to, a :class:`ProductRef` resolves only to that org's footprints. ``end_of_life`` is the
    method the declaration states for recycled content and end of life: under ``cut-off``
    no line may carry CFF parameters; under ``cff`` lines with parameters use the formula.
    """

    id: str
    company_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    declared_unit: str
    declared_unit_amount: Decimal = Decimal(1)
    own_emissions: tuple[OwnEmission, ...] = ()
    inputs: tuple[InputLine, ...] = ()
    declared_pcf: Decimal | None = None
    primary_data_share: Decimal | None = None
    dqr: DataQuality = field(default_factory=DataQuality)
    created: datetime | None = None
    org_id: str | None = None
    end_of_life: EndOfLifeMethod = "cut-off"

    def __post_init__(self) -> None:
        if self.end_of_life == "cut-off" and any(line.cff for line in self.inputs):
            raise InvalidParameterError(f"{self.id}: CFF parameters under the cut-off method")
        if self.declared_unit_amount <= 0:
            raise InvalidParameterError(
                f"{self.id}: declaredUnitAmount {self.declared_unit_amount} must be > 0"
            )
        if not self.company_ids:
            raise InvalidParameterError(f"{self.id}: at least one company id is required")

    @property
    def company_id(self) -> str:
        """The company the by-supplier breakdown attributes this footprint's emissions to."""
        return self.company_ids[0]


@dataclass(frozen=True, slots=True)
class EmissionFactor(SlotsPickle):
    """A published emission factor: ``value`` kgCO2e per 1 ``unit``."""

    set_id: str
    version: str
    key: str
    value: Decimal
    unit: str
    dqr: DataQuality = field(default_factory=DataQuality)

    @property
    def ref(self) -> FactorRef:
        """The reference an :class:`InputLine` uses to name this factor."""
        return FactorRef(self.set_id, self.version, self.key)
