"""``GET /v1/suppliers/{org}/progress``: the targets buyers set for a supplier and its
yearly inventories, with progress computed from the signed entries (read verified)."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy import Connection

from gateway.context import CallerDep, ServicesDep
from gateway.errors import error_responses, not_found
from gateway.index_checks import inventory_of, target_of
from gateway.quantities import quantity
from ledger.read.access import Caller as AccessCaller
from ledger.read.access import inventory_access_in, now_us
from ledger.read.evidence import inventory_seqs, target_seqs

router = APIRouter(prefix="/v1", tags=["native"])


class YearProgress(BaseModel):
    year: int
    value: str | None
    expected: str
    changeFromBase: str | None
    onTrack: bool | None


class TargetProgress(BaseModel):
    entryId: str
    seq: int
    buyer: str
    metric: str
    scopes: list[str]
    baseYear: int
    baseValue: str
    targetYear: int
    targetValue: str
    intensityUnit: str | None
    progress: list[YearProgress]


class ProgressOut(BaseModel):
    supplier: str
    inventories: list[dict[str, Any]]
    targets: list[TargetProgress]


# Inventory figures hold up to 64 digits before the point (ledger's decimal strings):
# progress is computed in a context wide enough that sums are exact and quotients
# carry more digits than served (the default 28 would round a sum before the edge).
_WIDE = Context(prec=96)


def _metric(target: dict[str, Any], inv: dict[str, Any]) -> Decimal | None:
    metric = target["metric"]
    if metric == "renewable-electricity-share":
        total = Decimal(inv["electricityMWh"])
        return Decimal(100) * Decimal(inv["renewableElectricityMWh"]) / total if total else None
    parts = []
    for scope in target["scopes"]:
        value = inv.get(f"scope{scope}TCO2e")
        if value is None:
            return None
        parts.append(Decimal(value))
    emissions = sum(parts, Decimal(0))
    if metric == "absolute-tco2e":
        return emissions
    amount = inv.get("productionAmount")
    if not amount or inv.get("productionUnit") != target.get("intensityUnit"):
        return None
    production = Decimal(amount)
    return emissions / production if production else None


def _progress(target: dict[str, Any], inventories: dict[int, dict[str, Any]]) -> list[YearProgress]:
    with localcontext(_WIDE):
        return _progress_exactly(target, inventories)


def _progress_exactly(
    target: dict[str, Any], inventories: dict[int, dict[str, Any]]
) -> list[YearProgress]:
    base, goal = Decimal(target["baseValue"]), Decimal(target["targetValue"])
    span = target["targetYear"] - target["baseYear"]
    higher_is_better = target["metric"] == "renewable-electricity-share"
    out = []
    for year in sorted(inventories):
        if year < target["baseYear"]:
            continue
        step = min(year - target["baseYear"], span)
        expected = base + (goal - base) * Decimal(step) / Decimal(span)
        value = _metric(target, inventories[year])
        change = None
        on_track = None
        if value is not None:
            if higher_is_better:
                change = value - base
                on_track = value >= expected
            else:
                change = (value - base) / base * Decimal(100) if base else None
                on_track = value <= expected
        out.append(
            YearProgress(
                year=year,
                value=None if value is None else quantity(value),
                expected=quantity(expected),
                changeFromBase=None if change is None else quantity(change),
                onTrack=on_track,
            )
        )
    return out


@router.get(
    "/suppliers/{org}/progress",
    response_model=ProgressOut,
    responses=error_responses(400, 401, 403, 404, 500),
    summary="Targets set for a supplier and its yearly inventories, with progress",
)
def progress(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    org: Annotated[str, Path(max_length=512)],
) -> ProgressOut:
    """The supplier and auditors see every target for it. Another org sees the
    supplier's inventories, and progress against the targets it set itself, only while
    the supplier grants it (``ledger.read.access.inventory_access``); without that grant
    the answer is the NotFound of an org that does not exist, whatever targets it set."""
    reader = caller.reader
    with svc.context.reads.read() as conn:
        if inventory_access_in(conn, reader, org, now_us(), svc.footprints.grants).level is None:
            raise not_found(request, "supplier progress")
        found = supplier_progress(conn, svc, reader, org)
    if not found.targets and not found.inventories and svc.directory.roles_of(org) is None:
        raise not_found(request, "supplier progress")
    return found


def supplier_progress(conn: Connection, svc: Any, reader: AccessCaller, org: str) -> ProgressOut:
    """``org``'s inventories and the targets set for it that ``reader`` may see (all of
    them for the supplier and read-all roles, else the reader's own), with progress;
    for a reader the access policy already let see ``org``'s inventories."""
    # Entries are read through the verified reads: a tampered one is refused, not used.
    buyer = None if reader.sees_all_of(org) else reader.org
    targets = [
        (seq, svc.footprints.indexed_entry(conn, seq, "target", target_of(buyer, org)))
        for seq in target_seqs(conn, org, buyer)
    ]
    inventories: dict[int, dict[str, Any]] = {}
    for seq in inventory_seqs(conn, org):
        inv = svc.footprints.indexed_entry(conn, seq, "inventory", inventory_of(org))
        if inv.get("site") is None:  # a site's inventory is a part, rated by the programme
            inventories[int(inv["reportingYear"])] = inv  # a later entry for a year wins
    return ProgressOut(
        supplier=org,
        inventories=[
            {k: v for k, v in inv.items() if k not in ("type", "org")}
            for _, inv in sorted(inventories.items())
        ],
        targets=[
            TargetProgress(
                entryId=t["entryId"],
                seq=seq,
                buyer=t["org"],
                metric=t["metric"],
                scopes=t["scopes"],
                baseYear=t["baseYear"],
                baseValue=t["baseValue"],
                targetYear=t["targetYear"],
                targetValue=t["targetValue"],
                intensityUnit=t.get("intensityUnit"),
                progress=_progress(t, inventories),
            )
            for seq, t in targets
        ],
    )
