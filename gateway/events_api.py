"""The PACT ``Events`` action: ``POST /3/events`` and ``POST /2/events``.

The caller's token is checked before the body is read: the body is not a FastAPI
body parameter (FastAPI would read and parse it before any dependency ran) but is
read by the handler, after ``caller``, within the gateway's body limit
(``gateway.request_guard``), and parsed by pydantic's own JSON parser (bounded
nesting, no recursion). The work that follows (``gateway.events.Outbox``) runs on a
worker thread.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.auth import Caller
from gateway.context import CallerDep, Services, ServicesDep
from gateway.errors import bad_request, error_responses
from gateway.events import V2_TYPES, V3_TYPES
from gateway.filters import Filters, parse_instant
from gateway.plain_text import PlainText

router = APIRouter()
MEDIA_TYPE = "application/cloudevents+json"
#: Media types an event body may be sent as (CloudEvents' own, or plain JSON).
ACCEPTED_MEDIA_TYPES = frozenset({MEDIA_TYPE, "application/json"})
#: Values per criteria list of a request: a request stays open and is examined again
#: whenever the log grows, so its size is a standing cost.
MAX_CRITERIA = 100
Criteria = Annotated[list[PlainText], Field(max_length=MAX_CRITERIA)]


class CloudEvent(BaseModel):
    """A CloudEvent in structured content mode (``application/cloudevents+json``)."""

    model_config = ConfigDict(extra="allow")

    type: Annotated[PlainText, Field(min_length=1, max_length=256)]
    specversion: Literal["1.0"]
    id: Annotated[PlainText, Field(min_length=1, max_length=256)]
    source: Annotated[PlainText, Field(min_length=1, max_length=2048)]
    time: Annotated[PlainText, Field(min_length=1, max_length=64)] | None = None
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value)  # ValueError: not an RFC 3339 date-time
        return value


class _V3Criteria(BaseModel):
    model_config = ConfigDict(extra="ignore")

    productId: Criteria | None = None
    companyId: Criteria | None = None
    geography: Criteria | None = None
    classification: Criteria | None = None
    validOn: PlainText | None = None
    validAfter: PlainText | None = None
    validBefore: PlainText | None = None
    status: PlainText | None = None
    comment: str | None = None


class _V2Pf(BaseModel):
    model_config = ConfigDict(extra="ignore")

    productIds: Criteria | None = None
    companyIds: Criteria | None = None


class _V2Criteria(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pf: _V2Pf
    comment: str | None = None


class _Published(BaseModel):
    """``data`` of a PublishedEvent: the ids of footprints the sender published."""

    model_config = ConfigDict(extra="ignore")

    pfIds: Annotated[list[uuid.UUID], Field(min_length=1)]


class _Error(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Annotated[PlainText, Field(min_length=1, max_length=64)]
    message: str


class _Fulfilled(BaseModel):
    model_config = ConfigDict(extra="ignore")

    requestEventId: Annotated[PlainText, Field(min_length=1, max_length=256)]
    pfs: list[dict[str, Any]]


class _Rejected(BaseModel):
    model_config = ConfigDict(extra="ignore")

    requestEventId: Annotated[PlainText, Field(min_length=1, max_length=256)]
    error: _Error


_M = TypeVar("_M", bound=BaseModel)


def _data(event: CloudEvent, model: type[_M]) -> _M:
    """``event.data`` as ``model``; a 400 naming the first member that is wrong."""
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise bad_request(f"data.{where}: {first['msg']}") from None


def _filters(event: CloudEvent, v2: bool) -> Filters:
    if v2:
        pf = _data(event, _V2Criteria).pf
        return Filters(product_ids=pf.productIds or [], company_ids=pf.companyIds or [])
    c = _data(event, _V3Criteria)
    try:
        return Filters(
            product_ids=c.productId or [],
            company_ids=c.companyId or [],
            geography=c.geography or [],
            classification=c.classification or [],
            valid_on=parse_instant(c.validOn) if c.validOn else None,
            valid_after=parse_instant(c.validAfter) if c.validAfter else None,
            valid_before=parse_instant(c.validBefore) if c.validBefore else None,
            status=c.status,
        )
    except ValueError:
        raise bad_request("data: validOn, validAfter and validBefore are date-times") from None


def _handle(caller: Caller, svc: Services, event: CloudEvent, version: int) -> Response:
    types = V2_TYPES if version == 2 else V3_TYPES
    if event.type == types["created"]:
        filters = _filters(event, version == 2)
        svc.outbox.request(caller.org, event.id, version, filters)
    elif event.type == types["published"]:
        _data(event, _Published)
    elif event.type == types["fulfilled"]:
        _data(event, _Fulfilled)
    elif event.type == types["rejected"]:
        _data(event, _Rejected)
    else:
        raise bad_request(f"unsupported event type {event.type!r} for /{version}/events")
    return Response(status_code=200)


async def _event(request: Request) -> CloudEvent:
    """The body as a CloudEvent: read only now (after authentication), within the
    body limit; malformed JSON or a wrong shape is a 400 naming the member."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise bad_request(
            f"Content-Type {media_type or '(none)'!r}: an event is sent as {MEDIA_TYPE}"
        )
    raw = await request.body()
    try:
        return CloudEvent.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


_EVENTS: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        200: {"description": "accepted; empty body"},
        **error_responses(400, 401, 403, 413),
    },
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": CloudEvent.model_json_schema()}},
        }
    },
}


@router.post("/3/events", tags=["PACT v3.0"], summary="Action Events (v3.0)", **_EVENTS)
async def events_v3(request: Request, caller: CallerDep, svc: ServicesDep) -> Response:
    event = await _event(request)
    return await run_in_threadpool(_handle, caller, svc, event, 3)


@router.post("/2/events", tags=["PACT v2.3"], summary="Action Events (v2.3)", **_EVENTS)
async def events_v2(request: Request, caller: CallerDep, svc: ServicesDep) -> Response:
    event = await _event(request)
    return await run_in_threadpool(_handle, caller, svc, event, 2)
