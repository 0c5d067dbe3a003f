"""The served form of a site's zero-carbon evaluation: the pydantic models (the one
source of the schema) and the one function that renders an ``Evaluation`` into them.

Pure: the gateway renders what it evaluated from the verified log, and the audit
renders its own recomputation from the replay with the same function, so any
difference between the two is a difference of data, never of presentation.
Computed figures are decimal strings of at most 12 significant digits
(``gateway.quantities``); shares are percentages.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from gateway.quantities import exact, quantity
from ledger.entries.carbon.sites import SiteAttestation
from ledger.zero_carbon import (
    AttestationStatus,
    Comparison,
    Evaluation,
    Flag,
    Rating,
    attestation_status,
)

_STARS = {"none": None, "three-star": 3, "four-star": 4, "five-star": 5, "six-star": 6}


def _q(value: Decimal | None) -> str | None:
    """A quotient (a percentage): rounded as every computed quantity is."""
    return None if value is None else quantity(value)


def _x(value: Decimal | None) -> str | None:
    """A figure summed exactly from signed values: in full."""
    return None if value is None else exact(value)


class ScopesOut(BaseModel):
    """The reporting year's emissions, tCO2e. ``scope2MarketDerived``: the inventory
    declares no market-based scope 2, or one below what the ledger backs
    (``unbacked-market-scope2``); it is derived from the electricity not backed on the
    ledger (docs/zero-carbon.md). Sums of signed figures are served in full, a derived
    figure and the residual it is in are rounded to 12 significant digits."""

    scope1TCO2e: str | None
    scope2LocationTCO2e: str | None
    scope2MarketTCO2e: str | None
    scope2MarketDerived: bool
    scope3DeclaredTCO2e: str | None


class ComparisonOut(BaseModel):
    """The year against the base year or the previous year (changes in percent)."""

    against: Literal["base", "previous"]
    year: int
    absoluteChangePercent: str | None
    intensityChangePercent: str | None
    absoluteFell: bool
    intensityFell: bool
    holds: bool


class OwnReductionOut(BaseModel):
    met: bool
    comparisons: list[ComparisonOut]


class RenewableOut(BaseModel):
    """Electricity, MWh. ``backedMWh`` counts certificates retired for the site-year and
    metered on-site generation not also certified; the rest of the inventory's claim is
    ``unbackedClaimMWh`` (not counted). ``sharePercent``: backed over consumed."""

    electricityMWh: str
    claimedMWh: str
    certificatesMWh: str
    generationMWh: str
    generationCountedMWh: str
    backedMWh: str
    unbackedClaimMWh: str
    sharePercent: str | None


class OffsetsOut(BaseModel):
    """Carbon credits retired for the site-year, tCO2e, by credit type."""

    avoidanceTCO2e: str
    removalTCO2e: str


class RatingOut(BaseModel):
    """The level over one boundary; ``unmet`` gives one reason per unmet threshold of
    every level above the one reached."""

    factoryType: Literal["I", "II"]
    residualTCO2e: str
    offsetRatioPercent: str
    removalPercent: str
    level: str
    unmet: list[str]


class FlagOut(BaseModel):
    code: str
    message: str
    entryIds: list[str]


class InputOut(BaseModel):
    """A record the evaluation read: entry id, seq and Merkle leaf hash (hex)."""

    entryId: str
    seq: int
    leafHash: str


class AttestationOut(BaseModel):
    """A verifier's ``site.attestation`` of the site-year and whether it still stands
    against this evaluation (``invalidated``: ``reasons`` say why)."""

    entryId: str
    verifier: str
    level: str
    factoryType: Literal["I", "II"]
    resultDigest: str
    status: Literal["current", "invalidated"]
    reasons: list[str]


class SiteEvaluationOut(BaseModel):
    """A site's zero-carbon factory evaluation for a year, from the signed entries it
    lists (``inputs``), as of the log's first ``asOfSize`` records."""

    site: str
    owner: str
    year: int
    asOfSize: int
    level: str
    stars: int | None
    factoryType: Literal["I", "II"] | None
    offsetRatioPercent: str | None  # of the headline rating (type I when none is reached)
    scopes: ScopesOut
    ownReduction: OwnReductionOut
    renewable: RenewableOut
    offsets: OffsetsOut
    typeI: RatingOut | None
    typeII: RatingOut | None
    flags: list[FlagOut]
    inputs: list[InputOut]
    attestations: list[AttestationOut]


def _comparison(c: Comparison) -> ComparisonOut:
    return ComparisonOut(
        against=c.against,
        year=c.year,
        absoluteChangePercent=_q(c.absolute_change_percent),
        intensityChangePercent=_q(c.intensity_change_percent),
        absoluteFell=c.absolute_fell,
        intensityFell=c.intensity_fell,
        holds=c.holds,
    )


def _rating(rating: Rating | None, derived: bool) -> RatingOut | None:
    """``derived``: the market-based scope 2 in the residual is a quotient (rounded)."""
    if rating is None:
        return None
    return RatingOut(
        factoryType=rating.factory_type,
        residualTCO2e=quantity(rating.residual) if derived else exact(rating.residual),
        offsetRatioPercent=quantity(rating.offset_percent),
        removalPercent=quantity(rating.removal_percent),
        level=rating.level,
        unmet=list(rating.unmet),
    )


def _flag(flag: Flag) -> FlagOut:
    return FlagOut(code=flag.code, message=flag.message, entryIds=list(flag.entry_ids))


def _attestation(entry: SiteAttestation, status: AttestationStatus) -> AttestationOut:
    return AttestationOut(
        entryId=entry.entryId,
        verifier=entry.org,
        level=entry.level,
        factoryType=entry.factoryType,
        resultDigest=entry.resultDigest,
        status="current" if status.current else "invalidated",
        reasons=list(status.reasons),
    )


def headline(evaluation: Evaluation) -> Rating | None:
    """The rating the level is of (type I when no level is reached)."""
    e = evaluation
    if e.factory_type == "II" and e.type_ii is not None:
        return e.type_ii
    return e.type_i


def evaluation_out(
    evaluation: Evaluation,
    owner: str,
    as_of_size: int,
    attestations: Iterable[SiteAttestation],
) -> SiteEvaluationOut:
    """``evaluation`` as served, with each attestation of the site-year judged against it."""
    e = evaluation
    shown = headline(e)
    derived = e.scope2_market_derived  # a quotient: rounded, as is the residual it is in
    return SiteEvaluationOut(
        site=e.site,
        owner=owner,
        year=e.year,
        asOfSize=as_of_size,
        level=e.level,
        stars=_STARS[e.level],
        factoryType=e.factory_type,
        offsetRatioPercent=None if shown is None else quantity(shown.offset_percent),
        scopes=ScopesOut(
            scope1TCO2e=_x(e.scope1),
            scope2LocationTCO2e=_x(e.scope2_location),
            scope2MarketTCO2e=(_q if derived else _x)(e.scope2_market),
            scope2MarketDerived=e.scope2_market_derived,
            scope3DeclaredTCO2e=_x(e.scope3_declared),
        ),
        ownReduction=OwnReductionOut(
            met=e.own_reduction, comparisons=[_comparison(c) for c in e.comparisons]
        ),
        renewable=RenewableOut(
            electricityMWh=exact(e.electricity_mwh),
            claimedMWh=exact(e.renewable_claimed_mwh),
            certificatesMWh=exact(e.certificates_mwh),
            generationMWh=exact(e.generation_mwh),
            generationCountedMWh=exact(e.generation_counted_mwh),
            backedMWh=exact(e.renewable_backed_mwh),
            unbackedClaimMWh=exact(e.unbacked_claim_mwh),
            sharePercent=_q(e.renewable_percent),
        ),
        offsets=OffsetsOut(
            avoidanceTCO2e=exact(e.avoidance_tco2e), removalTCO2e=exact(e.removal_tco2e)
        ),
        typeI=_rating(e.type_i, derived),
        typeII=_rating(e.type_ii, derived),
        flags=[_flag(f) for f in e.flags],
        inputs=[
            InputOut(entryId=r.entry_id, seq=r.seq, leafHash=r.leaf_hash.hex()) for r in e.inputs
        ],
        attestations=[_attestation(a, attestation_status(a, e)) for a in attestations],
    )
