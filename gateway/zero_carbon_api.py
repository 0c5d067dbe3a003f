"""The zero-carbon factory programme over HTTP (issue 19): a site's evaluation for a
year, and a buyer's view of the suppliers that share their inventories with it.

``GET /v1/sites/{site}/zero-carbon?year=Y``: the site's owner, orgs with the owner's
live inventory grant and read-all roles see it, and a verifier that rated the site-year
sees it as of its attestation (``ledger.read.access.site_access``); anyone else gets
exactly the answer of a site that does not exist. ``atSize`` evaluates the log's first
N records (what an auditor compares with its replay at a checkpoint).

``GET /v1/programmes/suppliers[?year=Y]``: for the calling org, each supplier with a
live inventory grant to it: progress against the caller's targets (as
``/v1/suppliers/{org}/progress``) and each of its sites' evaluations for the year (by
default, per supplier, the latest year one of its sites recorded an inventory for).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from gateway.context import CallerDep, ServicesDep
from gateway.errors import bad_request, error_responses, not_found
from gateway.progress_api import ProgressOut, supplier_progress
from gateway.request_guard import Whole
from gateway.site_reads import served_evaluation, visible_site
from gateway.zero_carbon_body import SiteEvaluationOut
from ledger.entries.carbon.sites import is_site_urn
from ledger.read import log_size
from ledger.read.access import grants_to, now_us
from ledger.read.sites import latest_inventory_year, sites_of

router = APIRouter(prefix="/v1", tags=["zero-carbon"])

# The years an inventory may report (``ledger.entries.carbon.common.Year``).
YearQuery = Query(ge=1990, le=2100, description="The reporting year (1990 to 2100).")


@router.get(
    "/sites/{site}/zero-carbon",
    response_model=SiteEvaluationOut,
    responses=error_responses(400, 401, 403, 404, 500),
    summary="A site's zero-carbon factory evaluation for a year, with its attestations",
)
def site_zero_carbon(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    site: Annotated[str, Path(max_length=512)],
    year: Annotated[Whole, YearQuery],
    atSize: Annotated[
        Whole | None, Query(ge=1, description="Evaluate the first N records.")
    ] = None,
) -> SiteEvaluationOut:
    records = svc.context.records
    with svc.context.reads.read() as conn:
        size = log_size(conn)
        if atSize is not None and atSize > size:
            raise bad_request(f"atSize {atSize} is beyond the log's {size} records")
        seen = None
        if is_site_urn(site):
            seen = visible_site(conn, records, svc.footprints.grants, caller.reader, site, year)
        if seen is None:
            raise not_found(request, "site")
        return served_evaluation(conn, records, seen, site, year, atSize or size)


class SupplierProgrammeOut(BaseModel):
    """A supplier of the caller's programme: its progress and its sites' evaluations
    for ``year`` (null: none of its sites recorded an inventory)."""

    supplier: str
    year: int | None
    progress: ProgressOut
    sites: list[SiteEvaluationOut]


class ProgrammeOut(BaseModel):
    buyer: str
    asOfSize: int
    suppliers: list[SupplierProgrammeOut]


@router.get(
    "/programmes/suppliers",
    response_model=ProgrammeOut,
    responses=error_responses(400, 401, 403, 500),
    summary="The caller's suppliers (live inventory grants): progress and rated sites",
)
def programme_suppliers(
    caller: CallerDep,
    svc: ServicesDep,
    year: Annotated[Whole | None, YearQuery] = None,
) -> ProgrammeOut:
    reader, records, at = caller.reader, svc.context.records, now_us()
    with svc.context.reads.read() as conn:
        size = log_size(conn)
        live = [g for g in grants_to(conn, reader) if g.inventory and g.live_at(at)]
        svc.footprints.grants.confirm_all(conn, live)  # a grant row opens only what it signs
        suppliers = sorted({g.grantor for g in live})
        out = []
        for org in suppliers:
            sites = sites_of(conn, org, size)
            shown = year if year is not None else latest_inventory_year(conn, sites, size)
            evaluations = []
            for site in sites if shown is not None else []:
                seen = None
                if shown is not None:
                    grants = svc.footprints.grants
                    seen = visible_site(conn, records, grants, reader, site, shown)
                if seen is not None and shown is not None:
                    evaluations.append(served_evaluation(conn, records, seen, site, shown, size))
            out.append(
                SupplierProgrammeOut(
                    supplier=org,
                    year=shown,
                    progress=supplier_progress(conn, svc, reader, org),
                    sites=evaluations,
                )
            )
    return ProgrammeOut(buyer=caller.org, asOfSize=size, suppliers=out)
