"""What a request may carry before any route sees it.

* **Characters.** No text a request hands to the database may hold a control
  character (U+0000-U+001F, U+007F) or a lone surrogate: PostgreSQL cannot store
  U+0000 and fails the statement (a 500), SQLite would store it, and no identifier,
  URN or date-time has any of them. ``refuse_control_characters``, a dependency of
  the whole app (so of every route, before the route's own dependencies and
  parameters), refuses them in the decoded path and its parameters, the query parameters
  and the HTTP Basic credentials, naming which, so every route answers the same
  400 on both backends. JSON bodies are checked by their models with ``PlainText``
  (the same rule, ``control_character``).
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
from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator, BeforeValidator
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import parse_basic
from gateway.errors import TOKEN_PATH, OAuthError, bad_request

MAX_BODY_BYTES = 1024 * 1024
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """What is wrong with ``text`` (its first control character or lone surrogate,
    and where), or None if it may reach the database."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X}) at position {found.start()}"


def _plain(text: str) -> str:
    problem = control_character(text)
    if problem is not None:
        raise ValueError(problem)
    return text


PlainText = Annotated[str, AfterValidator(_plain)]
"""A string from a request body that may reach the database (see the module docstring)."""

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


async def refuse_control_characters(request: Request) -> None:
    """400 naming the parameter if any path or query parameter, or the HTTP Basic
    client id or secret, holds what ``control_character`` refuses. (At the token
    endpoint an RFC 6749 ``invalid_request``; elsewhere a PACT ``BadRequest``.)"""
    problem = _unacceptable_text(request)
    if problem is None:
        return
    if request.url.path == TOKEN_PATH:
        raise OAuthError(400, "invalid_request", problem)
    raise bad_request(problem)


def _unacceptable_text(request: Request) -> str | None:
    for name, value in request.path_params.items():
        if problem := control_character(str(value)):
            return f"path parameter {name} {problem}"
    # The router's patterns end in ``$``, which matches before a final newline: a path
    # ending in one reaches its route with the newline left out of every parameter.
    if problem := control_character(request.scope["path"]):
        return f"the path {problem}"
    for name, value in request.query_params.multi_items():
        if problem := control_character(name):
            return f"a query parameter name {problem}"
        if problem := control_character(value):
            return f"query parameter {name} {problem}"
    credentials = parse_basic(request.headers.get("authorization"))
    if credentials is not None:
        for what, value in zip(("client id", "client secret"), credentials, strict=True):
            if problem := control_character(value):
                return f"the HTTP Basic {what} {problem}"
    return None


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
