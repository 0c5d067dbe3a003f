"""A computed footprint as the gateway serves it: the engine's numbers rounded for the
wire, with what a viewer's access opens (suppliers, end-of-life lines, attestations and
retirements belong to the footprint's inner detail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.quantities import percent, quantity
from graph.ledger_adapter import cff_fields
from graph.results import ComputedFootprint, EndOfLife


@dataclass(frozen=True, slots=True)
class Evidence:
    """Who attested a footprint and what was retired for it, as served."""

    attestations: list[dict[str, Any]]
    retirements: list[dict[str, Any]]


def served_result(
    found: ComputedFootprint, detail: bool, evidence: Evidence | None
) -> dict[str, Any]:
    """``found`` as served to a viewer with detail access or not (``evidence`` only with
    detail access)."""
    return {
        "footprintId": found.footprint_id,
        "companyId": found.company_id,
        "declaredUnitOfMeasurement": found.declared_unit,
        "total": quantity(found.total),
        "byStage": {k: quantity(v) for k, v in found.by_stage.items()},
        "byScope": {k: quantity(v) for k, v in found.by_scope.items()},
        # Which suppliers stand behind the total is composition-level data.
        "bySupplier": {k: quantity(v) for k, v in found.by_supplier.items()} if detail else None,
        "primaryDataShare": None
        if found.primary_data_share is None
        else quantity(found.primary_data_share),
        # signed by the supplier: served as signed, not rounded
        "declared": None if found.declared is None else str(found.declared),
        "relativeDifference": None
        if found.relative_difference is None
        else percent(found.relative_difference),
        "flagged": found.flagged,
        "dqr": {k: quantity(v) for k, v in found.dqr.items()},
        "endOfLife": _end_of_life(found.end_of_life, detail),
        "complete": found.complete,
        "gaps": len(found.gaps),
        "inputErrors": len(found.errors),
        # Who attested it and which instruments were retired for it belong to the
        # footprint's inner detail, like its suppliers.
        "attestations": evidence.attestations if evidence else [],
        "retirements": evidence.retirements if evidence else [],
    }


def _end_of_life(end_of_life: EndOfLife, detail: bool) -> dict[str, Any]:
    """The declared method, and with detail access (the lines are composition-level data)
    each CFF line's parameters as the entry states them."""
    lines = None
    if detail:
        lines = [{"line": n, "cff": cff_fields(p)} for n, p in end_of_life.cff]
    return {"method": end_of_life.method, "inputs": lines}


def attested(att: dict[str, Any], seq: int) -> dict[str, Any]:
    """An attestation entry (recorded at ``seq``) as listed beside the footprint."""
    return {
        "entryId": att["entryId"],
        "seq": seq,
        "verifier": att["org"],
        "standard": att.get("standard"),
        "assuranceLevel": att.get("assuranceLevel"),
        "boundary": att.get("boundary"),
        "validFrom": att.get("validFrom"),
        "validUntil": att.get("validUntil"),
    }


def retired(ret: dict[str, Any], seq: int) -> dict[str, Any]:
    """A retirement entry (recorded at ``seq``) naming the footprint as beneficiary."""
    return {
        "entryId": ret["entryId"],
        "seq": seq,
        "org": ret["org"],
        "registry": ret["registry"],
        "kind": ret["kind"],
        "serials": ret["serials"],
        "quantity": ret["quantity"],
        "unit": ret["unit"],
        "vintage": ret["vintage"],
    }
