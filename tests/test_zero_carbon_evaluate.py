"""The zero-carbon factory evaluation, computed by hand at every threshold (issue 19,
part 2). Pure: ``SiteYearInputs`` built here, no ledger."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal, localcontext
from typing import Any

import pytest

from clients.sdk import new_entry
from ledger.entries import parse_entry
from ledger.entries.carbon.sites import SiteAttestation
from ledger.zero_carbon import (
    GenerationInput,
    InputRef,
    InventoryInput,
    RetirementInput,
    SiteYearInputs,
    attestation_status,
    evaluate,
    result_digest,
)
from ledger.zero_carbon.evaluate import EXACT

SITE = "urn:carbonledger:site:recycler:ganzhou"
D = Decimal


def _ref() -> InputRef:
    return InputRef(str(uuid.uuid4()), 1, b"\x00" * 32)


def _inventory(year: int = 2024, **figures: Any) -> InventoryInput:
    """Scope 1 400 t, scope 2 600 t location- and market-based, 1000 MWh of electricity."""
    values: dict[str, Any] = {
        "ref": _ref(),
        "year": year,
        "base_year": None,
        "scope1": D("400"),
        "scope2_location": D("600"),
        "scope2_market": D("600"),
        "scope3_categories": (),
        "electricity_mwh": D("1000"),
        "renewable_claimed_mwh": D("0"),
        "production": None,
        "production_unit": None,
    }
    values.update(figures)
    return InventoryInput(**values)


def _credits(tco2e: str, credit_type: str = "avoidance") -> RetirementInput:
    return RetirementInput(_ref(), False, D(tco2e), credit_type, SITE, None, "urn:x:org", 2024)  # type: ignore[arg-type]


def _certificates(mwh: str, generator: str | None = None, vintage: int = 2024) -> RetirementInput:
    return RetirementInput(_ref(), True, D(mwh), None, SITE, generator, "urn:x:org", vintage)


def _inputs(
    inventory: InventoryInput | None = None,
    *retirements: RetirementInput,
    previous: InventoryInput | None = None,
    base: InventoryInput | None = None,
    generation: tuple[GenerationInput, ...] = (),
    generated: tuple[RetirementInput, ...] = (),
) -> SiteYearInputs:
    """By default the year before emitted more (1100 t): own reduction holds."""
    if previous is None and base is None:
        previous = _inventory(2023, scope1=D("500"))
    return SiteYearInputs(
        SITE,
        2024,
        inventory or _inventory(),
        previous,
        base,
        tuple(retirements),
        generation,
        generated,
    )


@pytest.mark.parametrize(
    ("offset", "level"),
    [
        ("499", "none"),  # 49.9 %
        ("500", "three-star"),  # 50 %
        ("799", "three-star"),  # 79.9 %
        ("800", "four-star"),  # 80 %
        ("1000", "four-star"),  # 100 % offset, but no renewable electricity: not five
    ],
)
def test_offset_thresholds(offset: str, level: str) -> None:
    result = evaluate(_inputs(None, _credits(offset)))
    assert result.type_i is not None and result.type_i.residual == D("1000")
    assert result.type_i.offset_percent == D(offset) / 10
    assert result.level == level


def test_a_level_below_three_stars_says_why() -> None:
    result = evaluate(_inputs(None, _credits("499")))
    assert result.factory_type is None
    assert result.type_i is not None
    assert result.type_i.unmet[0] == (
        "three-star: offsets cover 49.9 % of the residual 1000 tCO2e, 50 % needed"
    )


def test_five_stars_need_all_electricity_renewable_and_backed() -> None:
    # 1000 MWh of certificates back all electricity; market-based scope 2 declared 0.
    full = _inventory(scope2_market=D("0"), renewable_claimed_mwh=D("1000"))
    result = evaluate(_inputs(full, _certificates("1000"), _credits("400")))
    assert (result.renewable_percent, result.level, result.factory_type) == (
        D(100),
        "five-star",
        "I",
    )
    # 99.9 %: one MWh short.
    short = evaluate(_inputs(full, _certificates("999"), _credits("400")))
    assert short.renewable_percent == D("99.9")
    assert short.level == "four-star"
    assert short.type_i is not None
    assert "five-star: renewable electricity backed on the ledger is below 100 %" in (
        short.type_i.unmet
    )
    assert short.unbacked_claim_mwh == D(1)
    # The declared market-based scope 2 of 0 is no longer backed for the missing MWh.
    assert [f.code for f in short.flags] == ["unbacked-renewable-claim", "unbacked-market-scope2"]


def test_six_stars_need_removals_not_avoidance() -> None:
    full = _inventory(scope2_market=D("0"))
    avoided = evaluate(_inputs(full, _certificates("1000"), _credits("400")))
    removed = evaluate(_inputs(full, _certificates("1000"), _credits("400", "removal")))
    assert (avoided.level, removed.level) == ("five-star", "six-star")
    half = evaluate(
        _inputs(full, _certificates("1000"), _credits("200"), _credits("200", "removal"))
    )
    assert half.level == "five-star"
    assert half.type_i is not None and half.type_i.removal_percent == D(50)
    assert (half.avoidance_tco2e, half.removal_tco2e) == (D(200), D(200))


def test_market_based_scope2_is_derived_from_backed_certificates_when_not_declared() -> None:
    inventory = _inventory(scope2_market=None)
    result = evaluate(_inputs(inventory, _certificates("250")))
    # 600 t location-based over 1000 MWh; 750 MWh unbacked: 450 t.
    assert (result.scope2_market, result.scope2_market_derived) == (D(450), True)
    assert result.type_i is not None and result.type_i.residual == D(850)


def test_own_reduction_against_base_or_previous_absolute_or_intensity() -> None:
    now = _inventory(base_year=2020, production=D("100"), production_unit="t")
    higher = _inventory(2023, scope1=D("500"), production=D("100"), production_unit="t")
    lower = _inventory(2023, scope1=D("300"), production=D("50"), production_unit="t")
    flat = _inventory(2023, production=D("100"), production_unit="t")
    credits = _credits("500")

    by_base = evaluate(_inputs(now, credits, base=dataclasses.replace(higher, year=2020)))
    assert by_base.own_reduction and by_base.level == "three-star"
    assert [(c.against, c.absolute_fell) for c in by_base.comparisons] == [("base", True)]

    by_previous = evaluate(_inputs(now, credits, previous=higher))
    # Computed in the evaluation's wide context (200 digits), not the default 28.
    with localcontext(EXACT):
        assert by_previous.comparisons[0].absolute_change_percent == D(-1100 + 1000) / 11
    assert by_previous.level == "three-star"

    # Absolute emissions rose (900 t -> 1000 t) but intensity fell (18 -> 10 t per t).
    by_intensity = evaluate(_inputs(now, credits, previous=lower))
    comparison = by_intensity.comparisons[0]
    assert (comparison.absolute_fell, comparison.intensity_fell) == (False, True)
    assert by_intensity.level == "three-star"

    unmet = evaluate(_inputs(now, credits, previous=flat))
    assert not unmet.own_reduction and unmet.level == "none"
    assert unmet.type_i is not None
    assert unmet.type_i.unmet[0] == (
        "three-star: no own reduction against the base year or the previous year"
    )


def test_type_two_adds_declared_scope3_categories() -> None:
    with_scope3 = _inventory(scope2_market=D("0"), scope3_categories=((1, D("150")), (4, D("50"))))
    certificates = _certificates("1000")
    # 1000 t offset: type I (400 t) is fully offset; type II (600 t) too.
    both = evaluate(_inputs(with_scope3, certificates, _credits("600")))
    assert both.type_ii is not None and both.type_ii.residual == D(600)
    assert (both.level, both.factory_type) == ("five-star", "II")
    # 500 t: type I five stars, type II 83.3 %: four; the headline is the higher level.
    part = evaluate(_inputs(with_scope3, certificates, _credits("500")))
    assert part.type_ii is not None and part.type_ii.level == "four-star"
    assert (part.level, part.factory_type, part.scope3_declared) == ("five-star", "I", D(200))


def test_the_rated_example_type_one_five_stars() -> None:
    """ "Direct and purchased-energy emissions 100 % offset, 2,298.48 t CO2 a year, type I
    five stars": all electricity backed by certificates, so market-based scope 2 is 0
    and the residual is the 2,298.48 t of scope 1."""
    inventory = _inventory(scope1=D("2298.48"), scope2_location=D("536.6"), scope2_market=None)
    previous = _inventory(2023, scope1=D("2400"), scope2_location=D("560"))
    certificates = _certificates("1000")
    rated = evaluate(_inputs(inventory, certificates, _credits("2299"), previous=previous))
    assert rated.scope2_market == 0 and rated.type_i is not None
    assert rated.type_i.residual == D("2298.48")
    assert (rated.level, rated.factory_type) == ("five-star", "I")
    short = evaluate(_inputs(inventory, certificates, _credits("2298"), previous=previous))
    assert short.level == "four-star"  # 99.98 %


def test_generation_also_issued_as_certificates_is_flagged_and_counted_once() -> None:
    generated = GenerationInput(_ref(), D("300"))
    sold = _certificates("100", generator=SITE)
    sold = dataclasses.replace(sold, beneficiary_site="urn:carbonledger:site:other:plant")
    result = evaluate(_inputs(None, generation=(generated,), generated=(sold,)))
    assert (result.generation_mwh, result.generation_counted_mwh) == (D(300), D(200))
    assert result.renewable_backed_mwh == D(200)
    flag = next(f for f in result.flags if f.code == "generation-also-certified")
    assert flag.entry_ids == (sold.ref.entry_id,)
    assert sold.ref in result.inputs


def test_an_unbacked_renewable_claim_is_flagged_not_counted() -> None:
    inventory = _inventory(renewable_claimed_mwh=D("600"), scope2_market=None)
    result = evaluate(
        _inputs(inventory, _certificates("400"), generation=(GenerationInput(_ref(), D("50")),))
    )
    assert (result.renewable_backed_mwh, result.unbacked_claim_mwh) == (D(450), D(150))
    assert result.renewable_percent == D(45)
    flag = next(f for f in result.flags if f.code == "unbacked-renewable-claim")
    assert flag.entry_ids == (inventory.ref.entry_id,)


def test_an_attestation_is_current_only_over_the_same_inputs_and_result() -> None:
    inputs = _inputs(None, _credits("800"))
    result = evaluate(inputs)
    rating = _attestation(result.input_ids, result.level, result_digest(result))
    assert attestation_status(rating, result).current
    # A restated inventory for the year replaces the one rated.
    restated = evaluate(dataclasses.replace(inputs, inventory=_inventory(scope1=D("300"))))
    status = attestation_status(rating, restated)
    assert not status.current
    assert any("no longer an input" in reason for reason in status.reasons)
    assert any("did not rate" in reason for reason in status.reasons)
    # Same inputs, another digest: not current either.
    forged = _attestation(result.input_ids, result.level, "0" * 64)
    assert attestation_status(forged, result).reasons == (
        "its result digest differs from the evaluation's",
    )


def _attestation(inputs: list[str], level: str, digest: str) -> SiteAttestation:
    entry = parse_entry(
        new_entry(
            "site.attestation",
            "urn:pact:company:customcode:certifier",
            site=SITE,
            year=2024,
            level=level,
            factoryType="I",
            inputs=inputs,
            resultDigest=digest,
        )
    )
    assert isinstance(entry, SiteAttestation)
    return entry
