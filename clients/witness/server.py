"""The witness over HTTP: ``POST <prefix>/add-checkpoint`` (c2sp.org/tlog-witness).

A thin FastAPI layer over :class:`~clients.witness.core.Witness`: it reads the
body (at most ``MAX_BODY_BYTES``, 413 beyond), runs the core in a worker thread
(it waits on the state's write lock) and maps its typed refusals to the spec's
status codes. Refusals carry a PACT-style ``{"code", "message"}`` body naming
what is wrong, except the 409 for a stale old size, whose body the spec fixes
(``<size>\\n``, ``text/x.tlog.size``). Served with the gateway's ``HttpServer``
(keep-alive, socket bound before anything starts).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from clients.witness.core import (
    InconsistentCheckpointError,
    MalformedRequestError,
    OldSizeMismatchError,
    RootMismatchError,
    UnknownOriginError,
    UntrustedCheckpointError,
    Witness,
    WitnessError,
)
from ledger.log_text import quoted
from ledger.note.tlog_witness import ADD_CHECKPOINT, SIZE_CONTENT_TYPE, format_size

MAX_BODY_BYTES = 64 * 1024
"""A checkpoint note has at most 100 signature lines and the proof 63: far below."""

_LOG = logging.getLogger(__name__)
_STATUS: dict[type[WitnessError], tuple[int, str]] = {
    MalformedRequestError: (400, "BadRequest"),
    UntrustedCheckpointError: (403, "AccessDenied"),
    UnknownOriginError: (404, "NotFound"),
    RootMismatchError: (409, "Conflict"),
    InconsistentCheckpointError: (422, "InconsistentCheckpoint"),
}


class BodyTooLargeError(Exception):
    pass


def create_witness_app(witness: Witness, prefix: str = "") -> FastAPI:
    """The app serving ``witness`` at ``<prefix>/add-checkpoint`` (``prefix``: "" or
    a path starting with ``/``, without a trailing one)."""
    app = FastAPI(title="carbonledger witness", openapi_url=None, docs_url=None, redoc_url=None)

    @app.post(prefix + ADD_CHECKPOINT)
    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _read_limited(request)
        except BodyTooLargeError:
            return _error(413, "PayloadTooLarge", f"the body exceeds {MAX_BODY_BYTES} bytes")
        except ClientDisconnect:  # nobody to answer; a traceback per hang-up floods the log
            _LOG.debug("add-checkpoint: the client hung up before sending its whole body")
            return Response(status_code=400)
        try:
            lines = await run_in_threadpool(witness.add_checkpoint_body, body)
        except OldSizeMismatchError as exc:
            _LOG.info("add-checkpoint: %s", exc)
            # Set as a header: a media type would get "; charset=utf-8" appended.
            headers = {"Content-Type": SIZE_CONTENT_TYPE}
            return Response(format_size(exc.latest_size), 409, headers=headers)
        except WitnessError as exc:
            status, code = _STATUS[type(exc)]
            # A known log's signed checkpoint that is not consistent may prove misbehaviour.
            level = logging.WARNING if status in (409, 422) else logging.INFO
            # The message may quote the client's request: escaped, bounded.
            _LOG.log(level, "add-checkpoint refused (%d): %s", status, quoted(str(exc)))
            return _error(status, code, str(exc))
        return PlainTextResponse("".join(lines), 200)

    return app


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLargeError
    return bytes(body)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status)
