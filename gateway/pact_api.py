"""PACT ``ListFootprints`` and ``GetFootprint``: v2.3 under ``/2``, v3.0 under ``/3``."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway import odata
from gateway.context import CallerDep, ServicesDep
from gateway.errors import bad_request, error_responses, not_found, not_implemented
from gateway.filters import Filters, parse_instant
from gateway.footprints import Visible
from gateway.pact_v2 import ProductFootprintV2, servable, to_v2
from gateway.request_guard import Whole
from ledger.entries.carbon.pact import ProductFootprint

router = APIRouter()

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_PAGE = 1000
MAX_SEQ = 2**62
CURSOR = "x-carbonledger-after"


class FootprintListV3(BaseModel):
    data: list[ProductFootprint]


class FootprintV3(BaseModel):
    data: ProductFootprint


class FootprintListV2(BaseModel):
    data: list[ProductFootprintV2]


class FootprintV2(BaseModel):
    data: ProductFootprintV2


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(body), media_type="application/json", headers=headers)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _v3_body(doc: dict[str, Any]) -> bytes:
    return _dumps({"data": doc})


def _v2_body(doc: dict[str, Any]) -> bytes:
    """The v2.3 GetFootprint body, or b"" when v2.3 cannot express the footprint."""
    return _dumps({"data": to_v2(doc)}) if servable(doc) else b""


def _instant(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        raise bad_request(f"{name}: {value!r} is not an RFC 3339 date-time") from None


def _next_link(request: Request, after: int | None) -> dict[str, str]:
    if after is None:
        return {}
    params = [(k, v) for k, v in request.query_params.multi_items() if k != CURSOR]
    params.append((CURSOR, str(after)))
    from urllib.parse import urlencode

    url = request.url.replace(query=urlencode(params))
    return {"Link": f'<{url}>; rel="next"'}


FootprintId = Annotated[
    str,
    Path(description="The footprint's id (a UUID); any other value names no footprint (404)"),
]


def _footprint_id(request: Request, id: str) -> str:
    """``id`` lower-cased. A value that is not a UUID names no footprint: 404 like an
    unknown id (PACT's expected results: GetFootprint of ``non-existent-id`` is
    ``NoSuchFootprint``/``NotFound``), not a validation error."""
    if UUID.fullmatch(id) is None:
        raise not_found(request)
    return id.lower()


def _page(limit: int | None) -> int:
    return MAX_PAGE if limit is None else min(limit, MAX_PAGE)


Limit = Annotated[
    Whole | None,
    Query(
        ge=1,
        le=2**31,
        description="At most this many footprints, a positive integer (the host may return fewer)",
    ),
]
After = Annotated[
    Whole | None,
    Query(
        alias=CURSOR,
        ge=0,
        le=MAX_SEQ,
        description="Pagination cursor set by the Link header; not for direct use",
    ),
]


@router.get(
    "/3/footprints",
    tags=["PACT v3.0"],
    summary="Action ListFootprints (v3.0)",
    response_model=None,
    responses={200: {"model": FootprintListV3}, **error_responses(400, 401, 403)},
)
def list_v3(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    limit: Limit = None,
    productId: Annotated[list[str] | None, Query()] = None,
    companyId: Annotated[list[str] | None, Query()] = None,
    geography: Annotated[list[str] | None, Query()] = None,
    classification: Annotated[list[str] | None, Query()] = None,
    validOn: Annotated[str | None, Query(description="RFC 3339 date-time")] = None,
    validAfter: Annotated[str | None, Query(description="RFC 3339 date-time")] = None,
    validBefore: Annotated[str | None, Query(description="RFC 3339 date-time")] = None,
    status: Annotated[str | None, Query(description="Active or Deprecated")] = None,
    after: After = None,
) -> Response:
    """Footprints visible to the caller, oldest first. Values of one filter OR, different
    filters AND; values that match nothing give an empty list."""
    filters = Filters(
        product_ids=productId or [],
        company_ids=companyId or [],
        geography=geography or [],
        classification=classification or [],
        valid_on=_instant("validOn", validOn),
        valid_after=_instant("validAfter", validAfter),
        valid_before=_instant("validBefore", validBefore),
        status=status,
    )
    found, more = svc.footprints.list(
        caller.org,
        caller.roles,
        filters,
        after_seq=-1 if after is None else after,
        limit=_page(limit),
    )
    docs = [svc.footprints.document(v) for v in found]
    return _json({"data": docs}, _next_link(request, more))


@router.get(
    "/3/footprints/{id}",
    tags=["PACT v3.0"],
    summary="Action GetFootprint (v3.0)",
    response_model=None,
    responses={200: {"model": FootprintV3}, **error_responses(400, 401, 403, 404)},
)
async def get_v3(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: FootprintId,
) -> Response:
    fid = _footprint_id(request, id)
    body = await svc.footprints.get_body(caller.org, caller.roles, fid, _v3_body)
    if body is None:
        raise not_found(request)
    return Response(body, media_type="application/json")


def _v2_filter(request: Request, statement: str) -> odata.Predicate:
    """The ``$filter`` as a condition on the signed footprint, evaluated on its v2.3 form."""
    try:
        predicate = odata.parse(statement)
    except odata.Unsupported as exc:
        raise not_implemented(request, str(exc)) from None
    except odata.Malformed as exc:
        raise bad_request(str(exc)) from None
    return lambda footprint: servable(footprint) and predicate(to_v2(footprint))


def _v2_docs(svc: Any, found: list[Visible]) -> list[dict[str, Any]]:
    docs = [svc.footprints.document(v) for v in found]
    return [to_v2(d) for d in docs if servable(d)]


@router.get(
    "/2/footprints",
    tags=["PACT v2.3"],
    summary="Action ListFootprints (v2.3)",
    response_model=None,
    responses={200: {"model": FootprintListV2}, **error_responses(400, 401, 403)},
)
def list_v2(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    limit: Limit = None,
    filter_: Annotated[
        str | None,
        Query(
            alias="$filter",
            description="The PACT v2.3 OData subset (see docs/gateway.md); other OData is "
            "answered NotImplemented",
        ),
    ] = None,
    after: After = None,
) -> Response:
    found, more = svc.footprints.list(
        caller.org,
        caller.roles,
        Filters(),
        after_seq=-1 if after is None else after,
        limit=_page(limit),
        # Only what v2.3 can express is listed, so a page (and its next link) never
        # counts a footprint the page then leaves out.
        where=servable if filter_ is None else _v2_filter(request, filter_),
    )
    return _json({"data": _v2_docs(svc, found)}, _next_link(request, more))


@router.get(
    "/2/footprints/{id}",
    tags=["PACT v2.3"],
    summary="Action GetFootprint (v2.3)",
    response_model=None,
    responses={200: {"model": FootprintV2}, **error_responses(400, 401, 403, 404)},
)
async def get_v2(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: FootprintId,
) -> Response:
    fid = _footprint_id(request, id)
    body = await svc.footprints.get_body(caller.org, caller.roles, fid, _v2_body)
    if not body:
        raise not_found(request)
    return Response(body, media_type="application/json")
