"""What a request may carry before any route sees it.

* **Characters.** No text a request hands to the database may hold a control
  character (U+0000-U+001F, U+007F) or a lone surrogate: PostgreSQL cannot store
  U+0000 and fails the statement (a 500), SQLite would store it, and no identifier,
  URN or date-time has any of them. ``refuse_bad_parameters``, a dependency of
  the whole app (so of every route, before the route's own dependencies and
  parameters), refuses them in the decoded path and its parameters, the query parameters
  and the HTTP Basic credentials, naming which, so every route answers the same
  400 on both backends (a path no route matches, with one, too: ``gateway.errors``).
  JSON bodies are checked by their models with ``PlainText`` (the same rule,
  ``gateway.plain_text``).
* **One value per single-valued parameter.** A query parameter its route declares as
  one value (not a list) and given more than once is refused, naming it: FastAPI would
  read the last value and never check the others, so ``?treeSize=060&treeSize=60``
  would pass a spelling ``Whole`` refuses, and which value counts would be no reader's
  guess to make. Same dependency; the declared parameters come from the route itself.
* **Body size.** A request body is limited to ``max_body_bytes`` (default
  ``MAX_BODY_BYTES``), checked against ``Content-Length`` and against the bytes
  actually received (chunked bodies), and only when a route reads the body: a
  route that needs a token checks it first (``gateway.context.caller``), so an
  unauthenticated request is answered 403 without its body being read at all.
  Exceeding it answers 413 with a PACT error body. (Starlette's own
  ``RequestBodyLimitMiddleware``, behind FastAPI's ``max_body_size``, answers 413
  in plain text, and for a declared oversize body replaces even the 403 of a route
  that never read it, so it is not used.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.address import address_problem
from gateway.auth import parse_basic
from gateway.errors import TOKEN_PATH, OAuthError, bad_request
from gateway.plain_text import control_character

MAX_BODY_BYTES = 1024 * 1024
# ASCII digits only (``\d`` would admit other scripts' digits), no sign, no leading zero.
_CANONICAL_WHOLE = re.compile(r"(?:0|[1-9][0-9]*)\Z")


def _canonical_whole(value: object) -> object:
    if isinstance(value, str) and not _CANONICAL_WHOLE.match(value):
        raise ValueError(
            "must be a whole number in decimal digits, without sign, leading zeros, "
            "fraction or spaces"
        )
    return value


Whole = Annotated[int, BeforeValidator(_canonical_whole)]
"""A whole number in a URL, in its one spelling: ``06``, ``+6`` and ``6.0`` are refused
rather than read as 6, so one resource has one address and a cache or log keyed on the
URL sees it once."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a route reads more than the limit. An
    ``HTTPException``, so FastAPI passes it through its body parsing and the app's
    handler answers it with a PACT body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


async def refuse_bad_parameters(request: Request) -> None:
    """400 naming the parameter if any path or query parameter, or the HTTP Basic
    client id or secret, holds what ``control_character`` refuses, or a single-valued
    query parameter is repeated. (At the token endpoint an RFC 6749 ``invalid_request``;
    elsewhere a PACT ``BadRequest``.)"""
    problem = _problem(request)
    if problem is None:
        return
    if request.url.path == TOKEN_PATH:
        raise OAuthError(400, "invalid_request", problem)
    raise bad_request(problem)


def _problem(request: Request) -> str | None:
    if problem := _repeated_single_value(request):
        return problem
    for name, value in request.path_params.items():
        if problem := control_character(str(value)):
            return f"path parameter {name} {problem}"
    # The router's patterns end in ``$``, which matches before a final newline: a path
    # ending in one reaches its route with the newline left out of every parameter.
    if problem := address_problem(request):
        return problem
    credentials = parse_basic(request.headers.get("authorization"))
    if credentials is not None:
        for what, value in zip(("client id", "client secret"), credentials, strict=True):
            if problem := control_character(value):
                return f"the HTTP Basic {what} {problem}"
    return None


def _repeated_single_value(request: Request) -> str | None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    single = _single_valued(route)
    counted: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in single and name in counted:
            return f"query parameter {name} is given more than once"
        counted.add(name)
    return None


# By endpoint function: it fixes a route's parameters, and as a key it stays alive (an
# ``id(route)`` could be reused by a later app's route).
_SINGLE_VALUED: dict[Callable[..., Any], frozenset[str]] = {}


def _single_valued(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` (with its dependencies) reads as one value; worked
    out once per endpoint."""
    found = _SINGLE_VALUED.get(route.endpoint)
    if found is None:
        found = frozenset(
            field.alias
            for field in _query_fields(route.dependant)
            if not _is_list(field.field_info.annotation)
        )
        _SINGLE_VALUED[route.endpoint] = found
    return found


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _is_list(annotation: object) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_list(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return any(_is_list(arg) for arg in get_args(annotation))
    return origin in (list, tuple, set, frozenset)


class BodyLimit:
    """ASGI middleware: the body size rule (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._limited(scope, receive), send)

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        declared = _content_length(scope)
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return receive_within_limit


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None  # the HTTP server refuses a malformed length before we see it
