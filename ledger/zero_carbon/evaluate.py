"""The zero-carbon factory evaluation of one site-year, from its signed inputs.

Pure: ``evaluate(inputs)`` reads only ``SiteYearInputs``. The method, formulas and a
worked example are in docs/zero-carbon.md; the thresholds in ``levels``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Literal

from ledger.zero_carbon.inputs import InputRef, InventoryInput, RetirementInput, SiteYearInputs
from ledger.zero_carbon.levels import THRESHOLDS, Level, at_least

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
FactoryType = Literal["I", "II"]
Against = Literal["base", "previous"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The reporting year against an earlier one (``against``: ``base`` or ``previous``)."""

    against: Against
    year: int
    absolute_change_percent: Decimal | None  # None: the earlier year had no emissions
    intensity_change_percent: Decimal | None  # None: no comparable intensity
    absolute_fell: bool
    intensity_fell: bool

    @property
    def holds(self) -> bool:
        return self.absolute_fell or self.intensity_fell


@dataclass(frozen=True, slots=True)
class Flag:
    """Something the evaluation did not count as claimed, and the records concerned."""

    code: Literal[
        "unbacked-renewable-claim",
        "generation-also-certified",
        "no-inventory",
        "unbacked-market-scope2",
        "vintage-outside-period",
    ]
    message: str
    entry_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rating:
    """The level reached over one boundary (type I or II), and why no higher one."""

    factory_type: FactoryType
    residual: Decimal  # scope 1 + market-based scope 2 (+ declared scope 3 for type II)
    offset_percent: Decimal  # of the residual; 100 when nothing is left
    removal_percent: Decimal
    level: Level
    unmet: tuple[str, ...]  # one reason per unmet threshold of every higher level


@dataclass(frozen=True, slots=True)
class Evaluation:
    site: str
    year: int
    scope1: Decimal | None
    scope2_location: Decimal | None
    scope2_market: Decimal | None
    scope2_market_derived: bool  # not as declared: derived from backed renewable electricity
    scope3_declared: Decimal | None  # the sum of the declared categories; None if none
    comparisons: tuple[Comparison, ...]
    own_reduction: bool
    electricity_mwh: Decimal
    renewable_claimed_mwh: Decimal
    certificates_mwh: Decimal
    generation_mwh: Decimal
    generation_counted_mwh: Decimal
    renewable_backed_mwh: Decimal
    renewable_percent: Decimal | None  # None without electricity consumption
    unbacked_claim_mwh: Decimal
    avoidance_tco2e: Decimal
    removal_tco2e: Decimal
    type_i: Rating | None
    type_ii: Rating | None  # only when scope 3 categories are declared
    level: Level
    factory_type: FactoryType | None
    flags: tuple[Flag, ...]
    inputs: tuple[InputRef, ...]  # ascending entry id

    @property
    def input_ids(self) -> list[str]:
        """The entry ids used, in the canonical order a ``site.attestation`` lists them."""
        return [ref.entry_id for ref in self.inputs]


#: Every figure is a signed decimal of at most 64 characters: in 200 significant digits
#: their sums and their products with a threshold share are exact, so a level is
#: decided exactly (Decimal's default 28 digits rounded 2.0000000000000000000000000001
#: t to 2 t, and one credit covered "50 %" of it).
EXACT = Context(prec=200)


def evaluate(inputs: SiteYearInputs) -> Evaluation:
    """The evaluation of ``inputs.site`` for ``inputs.year``, computed in ``EXACT``."""
    with localcontext(EXACT):
        return _evaluate(inputs)


def _evaluate(inputs: SiteYearInputs) -> Evaluation:
    flags = []
    certificates = sum(
        (r.quantity for r in inputs.retirements if r.certificate and r.vintage == inputs.year),
        _ZERO,
    )
    if other_vintage := [
        r for r in inputs.retirements if r.certificate and r.vintage != inputs.year
    ]:
        flags.append(_other_vintage(inputs.year, other_vintage))
    avoidance = _credits(inputs, "avoidance")
    removal = _credits(inputs, "removal")
    generation = sum((g.mwh for g in inputs.generation), _ZERO)
    certified = sum((c.quantity for c in inputs.generated_certificates), _ZERO)
    counted = max(_ZERO, generation - certified)
    backed = certificates + counted
    if certified > 0 and generation > 0:
        flags.append(
            Flag(
                "generation-also-certified",
                f"{_show(min(certified, generation))} MWh of the site's metered generation were "
                f"also issued as certificates ({_show(certified)} MWh retired naming the site as "
                "generator); counted once, as certificates",
                tuple(sorted(c.ref.entry_id for c in inputs.generated_certificates)),
            )
        )
    inventory = inputs.inventory
    if inventory is None:
        flags.append(Flag("no-inventory", f"no inventory of the site for {inputs.year}", ()))
        return _without_inventory(
            inputs, certificates, generation, counted, backed, avoidance, removal, tuple(flags)
        )
    electricity = inventory.electricity_mwh
    share = None if electricity == 0 else min(backed, electricity) / electricity * _HUNDRED
    unbacked = max(_ZERO, inventory.renewable_claimed_mwh - backed)
    if unbacked > 0:
        flags.append(
            Flag(
                "unbacked-renewable-claim",
                f"the inventory claims {_show(inventory.renewable_claimed_mwh)} MWh of renewable "
                f"electricity; {_show(backed)} MWh are backed by certificates retired for the site "
                f"and year or by metered on-site generation; {_show(unbacked)} MWh are not counted",
                (inventory.ref.entry_id,),
            )
        )
    market, derived = _market_scope2(inventory, backed)
    floor = _location_floor(inventory, backed)
    if market_flag := _unbacked_market(inventory, floor):
        flags.append(market_flag)
        market, derived = floor, True
    earlier: tuple[tuple[InventoryInput | None, Against], ...] = (
        (inputs.base, "base"),
        (inputs.previous, "previous"),
    )
    comparisons = tuple(
        _compare(inventory, then, against) for then, against in earlier if then is not None
    )
    own = any(c.holds for c in comparisons)
    renewable_full = electricity > 0 and backed >= electricity
    scope3 = sum((t for _, t in inventory.scope3_categories), _ZERO)
    type_i = _rate("I", inventory.scope1 + market, avoidance, removal, own, renewable_full)
    type_ii = (
        _rate("II", inventory.scope1 + market + scope3, avoidance, removal, own, renewable_full)
        if inventory.scope3_categories
        else None
    )
    best = _headline(type_i, type_ii)
    return Evaluation(
        site=inputs.site,
        year=inputs.year,
        scope1=inventory.scope1,
        scope2_location=inventory.scope2_location,
        scope2_market=market,
        scope2_market_derived=derived,
        scope3_declared=scope3 if inventory.scope3_categories else None,
        comparisons=comparisons,
        own_reduction=own,
        electricity_mwh=electricity,
        renewable_claimed_mwh=inventory.renewable_claimed_mwh,
        certificates_mwh=certificates,
        generation_mwh=generation,
        generation_counted_mwh=counted,
        renewable_backed_mwh=backed,
        renewable_percent=share,
        unbacked_claim_mwh=unbacked,
        avoidance_tco2e=avoidance,
        removal_tco2e=removal,
        type_i=type_i,
        type_ii=type_ii,
        level=best.level,
        factory_type=None if best.level == "none" else best.factory_type,
        flags=tuple(flags),
        inputs=inputs.refs(),
    )


def _other_vintage(year: int, retirements: list[RetirementInput]) -> Flag:
    """Certificates retired for the site-year whose MWh were generated in another year:
    electricity of another year does not back this year's consumption."""
    mwh = sum((r.quantity for r in retirements), _ZERO)
    vintages = ", ".join(str(v) for v in sorted({r.vintage for r in retirements}))
    return Flag(
        "vintage-outside-period",
        f"{_show(mwh)} MWh of certificates retired for the site and {year} are of vintage "
        f"{vintages}; only certificates of vintage {year} are counted",
        tuple(sorted(r.ref.entry_id for r in retirements)),
    )


def _credits(inputs: SiteYearInputs, credit_type: str) -> Decimal:
    return sum(
        (
            r.quantity
            for r in inputs.retirements
            if not r.certificate and r.credit_type == credit_type
        ),
        _ZERO,
    )


def _market_scope2(inventory: InventoryInput, backed: Decimal) -> tuple[Decimal, bool]:
    """The declared market-based scope 2, or, when none is declared, the location-based
    floor (``_location_floor``): a grid-average stand-in for the residual mix
    (docs/zero-carbon.md)."""
    if inventory.scope2_market is not None:
        return inventory.scope2_market, False
    return _location_floor(inventory, backed), True


def _location_floor(inventory: InventoryInput, backed: Decimal) -> Decimal:
    """Location-based scope 2 for the electricity not backed by certificates or counted
    generation: the least market-based scope 2 the ledger's records support (all of it
    when the inventory states no electricity)."""
    electricity = inventory.electricity_mwh
    if electricity == 0:
        return inventory.scope2_location
    return inventory.scope2_location * (max(_ZERO, electricity - backed) / electricity)


def _unbacked_market(inventory: InventoryInput, floor: Decimal) -> Flag | None:
    """A declared market-based scope 2 below the floor: the gap is supplier contracts or
    certificates the ledger does not hold, so the floor is used."""
    declared = inventory.scope2_market
    if declared is None or declared >= floor:
        return None
    return Flag(
        "unbacked-market-scope2",
        f"the inventory declares market-based scope 2 of {_show(declared)} tCO2e; the "
        f"location-based figure for the electricity not backed on the ledger is "
        f"{_show(floor)} tCO2e, which is used",
        (inventory.ref.entry_id,),
    )


def _compare(now: InventoryInput, earlier: InventoryInput, against: Against) -> Comparison:
    before = earlier.own_emissions
    change = None if before == 0 else (now.own_emissions - before) / before * _HUNDRED
    intensity_now, intensity_before = now.intensity, earlier.intensity
    comparable = (
        intensity_now is not None
        and intensity_before is not None
        and now.production_unit == earlier.production_unit
    )
    intensity_change = None
    intensity_fell = False
    if comparable and intensity_now is not None and intensity_before is not None:
        intensity_fell = intensity_now < intensity_before
        if intensity_before != 0:
            intensity_change = (intensity_now - intensity_before) / intensity_before * _HUNDRED
    return Comparison(
        against=against,
        year=earlier.year,
        absolute_change_percent=change,
        intensity_change_percent=intensity_change,
        absolute_fell=now.own_emissions < before,
        intensity_fell=intensity_fell,
    )


def _rate(
    factory_type: FactoryType,
    residual: Decimal,
    avoidance: Decimal,
    removal: Decimal,
    own_reduction: bool,
    renewable_full: bool,
) -> Rating:
    offset = avoidance + removal
    level: Level = "none"
    unmet: list[str] = []
    for threshold in THRESHOLDS:
        missing = []
        if not own_reduction:
            missing.append("no own reduction against the base year or the previous year")
        if not at_least(offset, residual, threshold.offset_share):
            missing.append(
                f"offsets cover {_show(_percent(offset, residual))} % of the residual "
                f"{_show(residual)} tCO2e, {_show(threshold.offset_share * _HUNDRED)} % needed"
            )
        if threshold.removal_share and not at_least(removal, residual, threshold.removal_share):
            missing.append(
                f"removals cover {_show(_percent(removal, residual))} % of the residual, "
                f"{_show(threshold.removal_share * _HUNDRED)} % needed"
            )
        if threshold.renewable_share and not renewable_full:
            missing.append("renewable electricity backed on the ledger is below 100 %")
        if missing:
            unmet.extend(f"{threshold.level}: {reason}" for reason in missing)
        elif not unmet:
            level = threshold.level
    return Rating(
        factory_type=factory_type,
        residual=residual,
        offset_percent=_percent(offset, residual),
        removal_percent=_percent(removal, residual),
        level=level,
        unmet=tuple(unmet),
    )


def _show(value: Decimal) -> str:
    """A figure for a message: plain notation, no trailing zeros, at most 4 decimals."""
    try:
        return format(value.quantize(Decimal("0.0001")).normalize(), "f")
    except InvalidOperation:  # more digits than the context holds: shown as they are
        return format(value, "f")


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return _HUNDRED if whole == 0 else part / whole * _HUNDRED


_RANK: dict[Level, int] = {
    "none": 0,
    "three-star": 3,
    "four-star": 4,
    "five-star": 5,
    "six-star": 6,
}


def _headline(type_i: Rating, type_ii: Rating | None) -> Rating:
    """The rating to show: the higher level; type II (the wider boundary) on a tie."""
    if type_ii is not None and _RANK[type_ii.level] >= _RANK[type_i.level]:
        return type_ii
    return type_i


def _without_inventory(
    inputs: SiteYearInputs,
    certificates: Decimal,
    generation: Decimal,
    counted: Decimal,
    backed: Decimal,
    avoidance: Decimal,
    removal: Decimal,
    flags: tuple[Flag, ...],
) -> Evaluation:
    """No inventory for the year: nothing to rate, but what was retired and metered."""
    return Evaluation(
        site=inputs.site,
        year=inputs.year,
        scope1=None,
        scope2_location=None,
        scope2_market=None,
        scope2_market_derived=False,
        scope3_declared=None,
        comparisons=(),
        own_reduction=False,
        electricity_mwh=_ZERO,
        renewable_claimed_mwh=_ZERO,
        certificates_mwh=certificates,
        generation_mwh=generation,
        generation_counted_mwh=counted,
        renewable_backed_mwh=backed,
        renewable_percent=None,
        unbacked_claim_mwh=_ZERO,
        avoidance_tco2e=avoidance,
        removal_tco2e=removal,
        type_i=None,
        type_ii=None,
        level="none",
        factory_type=None,
        flags=flags,
        inputs=inputs.refs(),
    )
