"""What a site's zero-carbon evaluation consumes: the signed entries of one site-year,
reduced to the figures the method needs, each naming the record it came from.

Built from recorded entries (``from_inventory``, ``from_retirement``,
``from_generation``), so the evaluation itself never touches a transport or a store.
Every quantity is a ``Decimal`` made from the entry's decimal string.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ledger.entries.carbon.activity import GENERATION_STAGE, ActivityBatch
from ledger.entries.carbon.common import dec, parse_instant
from ledger.entries.carbon.instruments import CREDIT_KINDS, InstrumentRetire
from ledger.entries.carbon.targets import Inventory

_KWH_PER_MWH = Decimal(1000)


@dataclass(frozen=True, slots=True, order=True)
class InputRef:
    """The record an input came from: its entry id, log position and Merkle leaf hash."""

    entry_id: str
    seq: int
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class InventoryInput:
    ref: InputRef
    year: int
    base_year: int | None
    scope1: Decimal
    scope2_location: Decimal
    scope2_market: Decimal | None  # None: not declared
    scope3_categories: tuple[tuple[int, Decimal], ...]  # (category, tCO2e), declared ones
    electricity_mwh: Decimal
    renewable_claimed_mwh: Decimal
    production: Decimal | None
    production_unit: str | None

    @property
    def own_emissions(self) -> Decimal:
        """Scopes 1 and 2 (location-based): what own reductions are measured on."""
        return self.scope1 + self.scope2_location

    @property
    def intensity(self) -> Decimal | None:
        """Own emissions per unit of production, or None without a production figure."""
        if self.production is None or self.production == 0:
            return None
        return self.own_emissions / self.production


@dataclass(frozen=True, slots=True)
class RetirementInput:
    """A retirement naming the site as beneficiary for the year, or (``generator_site``)
    certificates of electricity generated at the site."""

    ref: InputRef
    certificate: bool  # energy attribute certificates (MWh); else carbon credits (tCO2e)
    quantity: Decimal
    credit_type: Literal["avoidance", "removal"] | None
    beneficiary_site: str | None
    generator_site: str | None
    retired_by: str
    vintage: int  # the year the certificates' MWh (or the credits' reductions) happened


@dataclass(frozen=True, slots=True)
class GenerationInput:
    """On-site renewable generation a batch metered at the site in the year, in MWh."""

    ref: InputRef
    mwh: Decimal


@dataclass(frozen=True, slots=True)
class SiteYearInputs:
    """Everything the evaluation of ``site`` for ``year`` reads.

    ``inventory`` is the site's current inventory for the year (the latest recorded),
    ``previous`` and ``base`` those of the previous year and of the inventory's base year;
    ``retirements`` name the site as beneficiary for the year; ``generated_elsewhere`` are
    certificates of the year's vintage naming the site as their generator, whoever
    retired them and for whom."""

    site: str
    year: int
    inventory: InventoryInput | None
    previous: InventoryInput | None
    base: InventoryInput | None
    retirements: tuple[RetirementInput, ...]
    generation: tuple[GenerationInput, ...]
    generated_certificates: tuple[RetirementInput, ...]

    def refs(self) -> tuple[InputRef, ...]:
        """The records used, unique, in ascending entry-id order (the canonical order)."""
        found = {
            item.ref for item in (self.inventory, self.previous, self.base) if item is not None
        }
        found.update(item.ref for item in self.retirements)
        found.update(item.ref for item in self.generation)
        found.update(item.ref for item in self.generated_certificates)
        return tuple(sorted(found))


def from_inventory(entry: Inventory, ref: InputRef) -> InventoryInput:
    return InventoryInput(
        ref=ref,
        year=entry.reportingYear,
        base_year=entry.baseYear,
        scope1=dec(entry.scope1TCO2e),
        scope2_location=dec(entry.scope2TCO2e),
        scope2_market=None if entry.scope2MarketTCO2e is None else dec(entry.scope2MarketTCO2e),
        scope3_categories=tuple((c.category, dec(c.tCO2e)) for c in entry.scope3Categories or ()),
        electricity_mwh=dec(entry.electricityMWh),
        renewable_claimed_mwh=dec(entry.renewableElectricityMWh),
        production=None if entry.productionAmount is None else dec(entry.productionAmount),
        production_unit=entry.productionUnit,
    )


def from_retirement(entry: InstrumentRetire, ref: InputRef) -> RetirementInput:
    return RetirementInput(
        ref=ref,
        certificate=entry.kind not in CREDIT_KINDS,
        quantity=dec(entry.quantity),
        credit_type=entry.creditType,
        beneficiary_site=entry.beneficiary.site,
        generator_site=None if entry.generator is None else entry.generator.site,
        retired_by=entry.org,
        vintage=entry.vintage,
    )


def from_generation(entry: ActivityBatch, ref: InputRef, year: int) -> GenerationInput:
    """The batch's generation readings whose interval starts in ``year`` (in its offset),
    summed in MWh. Needs the full entry (its readings), not the rules' copy."""
    kwh = sum(
        (
            dec(reading["quantity"])
            for reading in entry.readings
            if reading["stage"] == GENERATION_STAGE
            and parse_instant(reading["intervalStart"]).year == year
        ),
        Decimal(0),
    )
    return GenerationInput(ref, kwh / _KWH_PER_MWH)
