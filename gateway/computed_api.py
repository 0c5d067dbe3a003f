"""Native endpoints over the footprint engine: computed footprints (via
``gateway.computed``) and contribution trees. (Suppliers' progress against their
buyers' targets: ``gateway.progress_api``.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from gateway.computed_served import ViewerAccess
from gateway.context import CallerDep, ServicesDep
from gateway.errors import PactError, error_responses, not_found
from gateway.footprints import Visible
from gateway.request_guard import Whole
from graph.cut import Disclosure
from graph.errors import NoPhysicalSolutionError, OutOfRangeError
from ledger.entries.carbon.footprint import Cff

router = APIRouter(prefix="/v1", tags=["native"])

T = TypeVar("T")

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Attested(BaseModel):
    entryId: str
    seq: int
    verifier: str
    standard: str | None
    assuranceLevel: str | None
    boundary: str | None
    validFrom: str | None
    validUntil: str | None


class Retired(BaseModel):
    entryId: str
    seq: int
    org: str
    registry: str
    kind: str
    serials: dict[str, str]
    quantity: str
    unit: str
    vintage: int


class CffLine(BaseModel):
    """One input line's Circular Footprint Formula parameters, as its supplier signed them
    (``B``, ``R3``, ``Erecycled`` written out as 0 when not stated; ``Ev`` null: the cited
    footprint's or factor's intensity)."""

    line: int
    cff: Cff


class EndOfLifeOut(BaseModel):
    """The recycled-content and end-of-life method the footprint's entry declares.
    ``inputs`` (null below detail access) lists the input lines that use the CFF."""

    method: Literal["cut-off", "cff"]
    inputs: list[CffLine] | None


class ComputedOut(BaseModel):
    """Cradle-to-gate result, kgCO2e per 1 declared unit, as decimal strings.
    ``bySupplier`` is null below ``detail`` access. With detail access the breakdowns are
    cut at the edge of the caller's access: a supplier footprint it may see only at
    summary level counts whole under its company (split by stage and scope as its own
    summary is); one it may not see counts under ``undisclosed`` in each breakdown.
    Quantities have at most 12 significant digits; ``primaryDataShare`` and
    ``relativeDifference`` are percentages (``gateway.quantities``)."""

    footprintId: str
    companyId: str
    declaredUnitOfMeasurement: str
    total: str
    byStage: dict[str, str]
    byScope: dict[str, str]
    bySupplier: dict[str, str] | None
    primaryDataShare: str | None
    declared: str | None
    relativeDifference: str | None
    flagged: bool
    dqr: dict[str, str]
    endOfLife: EndOfLifeOut
    complete: bool
    gaps: int
    inputErrors: int
    attestations: list[Attested]
    retirements: list[Retired]


class FactorOut(BaseModel):
    """The emission factor a ``factor`` line applies, as its publisher stated it in its
    ``factors.publish`` entry: ``value`` kg of the gases ``gasCoverage`` names (``CO2``
    alone, or ``CO2e``; null where the set does not say, and then only ``method`` does)
    per one ``unit`` of activity."""

    setId: str
    version: str
    key: str
    publisher: str
    value: str
    unit: str
    gasCoverage: Literal["CO2", "CO2e"] | None
    basis: str
    region: str
    year: int
    method: str
    source: str


class ContributionOut(BaseModel):
    """A contributor: ``amount`` declared units of a footprint (``unit``, null for lines
    that are not footprints) per declared unit of the root, ``kgCO2e`` per declared unit
    of the root, ``share`` the percentage of the root's total; ``factor`` (factor lines
    only) what the applied factor states."""

    label: str
    kind: str
    footprintId: str | None
    amount: str
    unit: str | None
    kgCO2e: str
    share: str
    factor: FactorOut | None
    children: list[ContributionOut]


def no_physical_solution(error: NoPhysicalSolutionError) -> PactError:
    """422 ``NoPhysicalSolution`` for a footprint in or downstream of an impossible loop.

    The message names only the footprint asked about (which the caller may see) and the
    loop's size: the loop's other footprints may be other organisations'.
    """
    where = "is in" if error.in_loop else "depends on"
    return PactError(
        422,
        "NoPhysicalSolution",
        f"no physical solution: footprint {error.footprint_id} {where} a loop of "
        f"{len(error.cycle)} footprint(s) that consumes at least one unit of itself per unit "
        "produced; superseding or deprecating a footprint of the loop breaks it",
    )


def out_of_range(error: OutOfRangeError) -> PactError:
    """422 ``OutOfRange``: a figure of the footprint overflows (absurd values upstream).
    The message names only the footprint asked about."""
    return PactError(422, "OutOfRange", str(error))


def access_of(svc: Any, caller: Any) -> ViewerAccess:
    """The caller's access level to each footprint id, as the gateway's access policy
    answers it (asked once per id per request): what ``graph.cut`` cuts the graph by."""
    return ViewerAccess(svc.footprints, caller.org, caller.roles)


def visible_computed(
    request: Request,
    svc: Any,
    caller: Any,
    footprint_id: str,
    compute: Callable[[str, Disclosure], T | None],
) -> tuple[Visible, T]:
    """The footprint as the caller may see it and ``compute`` of it (one of
    ``ComputedFootprints``' views) cut to the caller's access; the one NotFound for a
    footprint that is missing, hidden from the caller or not computed."""
    viewer = access_of(svc, caller)
    visible = viewer.visible(footprint_id.lower())
    result = None
    if visible is not None:
        with refusing_unsolvable():
            result = compute(visible.ref.footprint_id, viewer)
    if visible is None or result is None:
        raise not_found(request, "computed footprint")
    return visible, result


@contextmanager
def refusing_unsolvable() -> Iterator[None]:
    """The engine's refusals of a footprint as the API's 422 errors."""
    try:
        yield
    except NoPhysicalSolutionError as e:
        raise no_physical_solution(e) from None
    except OutOfRangeError as e:
        raise out_of_range(e) from None


def render_computed(result: dict[str, Any]) -> bytes:
    """A computed footprint (``ComputedFootprints.result``) as the JSON body served,
    checked against the response model as FastAPI would check it."""
    return ComputedOut.model_validate(result).model_dump_json(by_alias=True).encode()


async def _computed(request: Request, svc: Any, caller: Any, footprint_id: str) -> Response:
    """The computed footprint as served to the caller (``gateway.computed_served``)."""
    with refusing_unsolvable():
        body = await svc.served_computed.body(caller.org, caller.roles, footprint_id.lower())
    if body is None:
        raise not_found(request, "computed footprint")
    return Response(body, media_type="application/json")


@router.get(
    "/footprints/{id}/computed",
    response_model=ComputedOut,
    responses=error_responses(400, 401, 403, 404, 422, 500),
    summary="The computed cradle-to-gate footprint of an active footprint",
)
async def computed(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: Annotated[str, Path(pattern=UUID_PATTERN)],
) -> Response:
    return await _computed(request, svc, caller, id)


@router.get(
    "/products/{productId}/footprint",
    response_model=ComputedOut,
    responses=error_responses(400, 401, 403, 404, 422, 500),
    summary="The computed footprint of a company's active footprint for a product",
)
async def product_footprint(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    productId: Annotated[str, Path(max_length=512)],
    companyId: Annotated[str, Query(max_length=512)],
) -> Response:
    fid = await run_in_threadpool(_product_footprint_id, svc, productId, companyId)
    if fid is None:
        raise not_found(request, "computed footprint")
    return await _computed(request, svc, caller, fid)


def _product_footprint_id(svc: Any, product_id: str, company_id: str) -> str | None:
    """The product of a company is the footprint its owner declared (ledger.rules)."""
    owner = svc.context.identity().company_owner(company_id)
    if owner is None:
        return None
    with svc.context.reads.read() as conn:
        found: str | None = svc.footprints.product_footprint(conn, owner, product_id, company_id)
        return found


@router.get(
    "/footprints/{id}/contributions",
    response_model=ContributionOut,
    responses=error_responses(400, 401, 403, 404, 422, 500),
    summary="Contribution tree of a computed footprint (detail access)",
)
def contributions(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: Annotated[str, Path(pattern=UUID_PATTERN)],
    depth: Annotated[Whole, Query(ge=1, le=10)] = 4,
    cutoff: Annotated[float, Query(ge=0, le=100, allow_inf_nan=False)] = 1,
) -> dict[str, Any]:
    """Children below ``cutoff`` percent of the total are folded into one ``other`` node."""
    viewer = access_of(svc, caller)
    visible = viewer.visible(id.lower())
    tree = None
    if visible is not None and visible.level == "detail":
        with refusing_unsolvable():
            tree = svc.computed.contributions(
                visible.ref.footprint_id,
                viewer,
                depth=depth,
                cutoff=cutoff / 100,
            )
    if tree is None:
        raise not_found(request, "computed footprint")
    return dict(tree)
