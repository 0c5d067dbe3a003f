"""PACT error bodies ``{"code", "message"}`` for every 4xx, and RFC 6749 §5.2 errors
for the token endpoint.

The PACT API versions name "not found" differently: v2 ``NoSuchFootprint``, v3
``NotFound``; v2 answers ``NotImplemented`` with 400, v3 with 501. The native
``/v1`` API uses the v3 codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.address import address_problem
from ledger.errors import CorruptIndexError, IntegrityError
from ledger.integrity_monitor import IntegrityMonitor


class ErrorBody(BaseModel):
    """A PACT ``Error``."""

    code: str
    message: str


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str
    error_description: str | None = None


class PactError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class OAuthError(Exception):
    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def _v2(request: Request) -> bool:
    return request.url.path.startswith("/2/")


def not_found(request: Request, what: str = "footprint") -> PactError:
    code = "NoSuchFootprint" if _v2(request) else "NotFound"
    return PactError(404, code, f"no such {what}")


def not_implemented(request: Request, message: str) -> PactError:
    return PactError(400 if _v2(request) else 501, "NotImplemented", message)


def bad_request(message: str) -> PactError:
    return PactError(400, "BadRequest", message)


def access_denied(message: str) -> PactError:
    return PactError(403, "AccessDenied", message)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for PACT errors."""
    descriptions = {
        400: "BadRequest: a malformed parameter or body, or a malformed or invalid access "
        "token (or, for /2, NotImplemented)",
        401: "TokenExpired",
        403: "AccessDenied: no access token, or not permitted",
        404: "NotFound (v3, /v1) or NoSuchFootprint (v2)",
        413: "BadRequest: the request body is larger than the gateway's limit",
        422: "NoPhysicalSolution: the footprint is in or depends on a loop that consumes at "
        "least one unit of itself per unit produced",
        500: "InternalError: the stored record failed its integrity check; nothing served",
        501: "NotImplemented",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


def _body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "malformed request"


TOKEN_PATH = "/auth/token"  # noqa: S105 (a URL path)


def install(app: FastAPI, monitor: IntegrityMonitor) -> None:
    """The PACT error bodies of every failure; ``monitor`` hears of a corrupt index
    column (records that fail are reported by the verified reads themselves)."""

    @app.exception_handler(PactError)
    async def _pact(request: Request, exc: PactError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), exc.status, headers=exc.headers)

    @app.exception_handler(OAuthError)
    async def _oauth(request: Request, exc: OAuthError) -> JSONResponse:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="carbonledger"'
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description}, exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path == TOKEN_PATH:
            return JSONResponse(
                {"error": "invalid_request", "error_description": _validation_message(exc)},
                400,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(_body("BadRequest", _validation_message(exc)), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unrouted = exc.status_code in (404, 405)  # the guard on every route never ran
        if unrouted and (problem := address_problem(request)):
            return JSONResponse(_body("BadRequest", problem), 400)
        if exc.status_code == 404:
            code, message = ("NoSuchFootprint" if _v2(request) else "NotFound"), "no such resource"
        elif exc.status_code == 405:
            code, message = "BadRequest", "method not allowed"
        elif exc.status_code >= 500:
            code, message = "InternalError", "internal error"
        else:
            code, message = "BadRequest", str(exc.detail)
        return JSONResponse(_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _tampered(request: Request, exc: IntegrityError) -> JSONResponse:
        # Records: already alarmed once per seq by ``ledger.read.verified``. An index
        # column is refused as the row is read, where no monitor is at hand. No data, no
        # traceback.
        if isinstance(exc, CorruptIndexError):
            monitor.report(exc)
        return JSONResponse(_body("InternalError", str(exc)), 500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("gateway").error("unexpected error on %s", request.url.path, exc_info=exc)
        return JSONResponse(_body("InternalError", "internal error"), 500)
