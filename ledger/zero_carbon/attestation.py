"""Whether a verifier's ``site.attestation`` still stands: the digest it signs and the
decision, against a fresh evaluation from the log.

A rating is *current* only while a fresh evaluation of the site-year uses exactly the
entries it rated and reaches the same level, type and result. A later entry that
changes the inputs (a superseding inventory, a new retirement for the site-year, new
generation readings, certificates naming the site as generator) makes it
*invalidated*, with the reasons.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.canonical import canonicalize
from ledger.entries.carbon.sites import SiteAttestation
from ledger.zero_carbon.evaluate import Evaluation, Rating


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _rating(rating: Rating | None) -> dict[str, Any] | None:
    if rating is None:
        return None
    return {
        "level": rating.level,
        "residual": _text(rating.residual),
        "offsetPercent": _text(rating.offset_percent),
        "removalPercent": _text(rating.removal_percent),
    }


def result_summary(evaluation: Evaluation) -> dict[str, Any]:
    """The figures a rating vouches for, as a JSON object (decimals as plain strings)."""
    e = evaluation
    return {
        "site": e.site,
        "year": e.year,
        "level": e.level,
        "factoryType": e.factory_type,
        "inputs": e.input_ids,
        "scope1TCO2e": _text(e.scope1),
        "scope2LocationTCO2e": _text(e.scope2_location),
        "scope2MarketTCO2e": _text(e.scope2_market),
        "scope3DeclaredTCO2e": _text(e.scope3_declared),
        "ownReduction": e.own_reduction,
        "electricityMWh": _text(e.electricity_mwh),
        "renewableBackedMWh": _text(e.renewable_backed_mwh),
        "unbackedClaimMWh": _text(e.unbacked_claim_mwh),
        "avoidanceTCO2e": _text(e.avoidance_tco2e),
        "removalTCO2e": _text(e.removal_tco2e),
        "typeI": _rating(e.type_i),
        "typeII": _rating(e.type_ii),
    }


def result_digest(evaluation: Evaluation) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``result_summary``: what a
    ``site.attestation`` signs as ``resultDigest``."""
    return hashlib.sha256(canonicalize(result_summary(evaluation))).hexdigest()


@dataclass(frozen=True, slots=True)
class AttestationStatus:
    current: bool
    reasons: tuple[str, ...]  # empty when current


def attestation_status(attestation: SiteAttestation, evaluation: Evaluation) -> AttestationStatus:
    """Whether ``attestation`` is current against ``evaluation``, a fresh evaluation of
    the same site and year from the log; if not, why."""
    if (attestation.site, attestation.year) != (evaluation.site, evaluation.year):
        raise ValueError("the evaluation is of another site or year than the attestation")
    rated = set(attestation.inputs)
    used = {ref.entry_id: ref for ref in evaluation.inputs}
    reasons = [
        f"entry {entry_id} it rated is no longer an input (superseded, or not the site-year's)"
        for entry_id in sorted(rated - used.keys())
    ]
    reasons.extend(
        f"entry {ref.entry_id} (seq {ref.seq}) is an input it did not rate"
        for ref in sorted(used.values(), key=lambda ref: ref.seq)
        if ref.entry_id not in rated
    )
    if attestation.level != evaluation.level:
        reasons.append(
            f"it rated {attestation.level}; the evaluation now reaches {evaluation.level}"
        )
    if evaluation.factory_type is not None and attestation.factoryType != evaluation.factory_type:
        reasons.append(
            f"it rated type {attestation.factoryType}; the evaluation now rates type "
            f"{evaluation.factory_type}"
        )
    if not reasons and attestation.resultDigest != result_digest(evaluation):
        reasons.append("its result digest differs from the evaluation's")
    return AttestationStatus(not reasons, tuple(reasons))
