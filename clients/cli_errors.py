"""How a ``carbonledger`` command fails: one line on stderr and a documented exit code.

Commands let the errors of the ledger, the gateway, the network and local files
propagate; the command group turns them into a message here, in one place, so
every command (present and future) reports an unreachable ledger, refused
credentials or a server's refusal the same way instead of with a traceback. The
codes are documented in docs/api.md, "CLI exit codes". An exception not listed
here is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

import click
import grpc
import httpx
import sqlalchemy.exc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.audit.model import AuditError, ReadRefused
from clients.sdk import Rejected
from ledger.keys import load_private_key
from ledger.store.database import DatabaseUnavailableError

# Where ``ctx.meta`` keeps the address of the server a command talks to
# (``clients.cli_params.ledger_option`` puts it there).
SERVER_KEY = "carbonledger.server"


class ExitCode(IntEnum):
    REFUSED = 1  # the server refused the request, or a verification failed
    USAGE = 2  # click's own code: wrong options, or a local file that cannot be used
    UNREACHABLE = 3  # no answer from the ledger, the gateway or the database
    CREDENTIALS = 4  # the server did not accept who we are (HTTP 401, UNAUTHENTICATED)
    ADDRESS_UNAVAILABLE = 5  # serve/demo cannot listen on --grpc or --http
    INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT


class CommandFailed(click.ClickException):
    """A failure already explained in one line; click prints it and exits with the code."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        # click declares the code per class; it reads it from the instance.
        self.exit_code = int(exit_code)  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=file is None, file=file)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``; a file that is not one is a one-line usage failure (2)."""
    try:
        return load_private_key(path)
    except ValueError as exc:
        raise CommandFailed(
            f"{path}: not an Ed25519 private key in PKCS#8 PEM ({exc})", ExitCode.USAGE
        ) from None


def failure_of(exc: BaseException, server: str | None = None) -> CommandFailed | None:
    """The one-line failure for ``exc``, or None when it is not an expected failure.

    ``server`` is the address the command was given, for the message.
    """
    if isinstance(exc, CommandFailed):
        return exc
    if isinstance(exc, Rejected):
        return _status_failure(exc.code, exc.message, server)
    if isinstance(exc, grpc.RpcError) and isinstance(exc, grpc.Call):
        return _status_failure(exc.code(), exc.details() or "", server)
    if isinstance(exc, ReadRefused):
        return CommandFailed(str(exc), ExitCode.CREDENTIALS)
    if isinstance(exc, AuditError):
        cause = exc.__cause__
        if isinstance(cause, grpc.RpcError) and isinstance(cause, grpc.Call):
            failure = _status_failure(cause.code(), cause.details() or "", server)
            if failure.exit_code == ExitCode.REFUSED:
                return CommandFailed(str(exc), ExitCode.REFUSED)
            return failure
        return CommandFailed(str(exc), ExitCode.USAGE)
    if isinstance(exc, httpx.HTTPStatusError):
        return _http_failure(exc.response)
    if isinstance(exc, httpx.TransportError):
        url = exc.request.url.copy_with(query=None) if _has_request(exc) else server
        return CommandFailed(f"cannot reach the gateway at {url}: {exc}", ExitCode.UNREACHABLE)
    if isinstance(exc, DatabaseUnavailableError):  # its message hides the URL's password
        return CommandFailed(_first_line(str(exc)), ExitCode.UNREACHABLE)
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        said = _first_line(str(exc.orig)) if exc.orig else type(exc).__name__
        return CommandFailed(f"cannot use the database: {said}", ExitCode.UNREACHABLE)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return CommandFailed(f"{where}{exc.strerror or exc}", ExitCode.USAGE)
    return None


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises when the error was not tied to a request
    except RuntimeError:
        return False
    return True


def _status_failure(code: grpc.StatusCode, details: str, server: str | None) -> CommandFailed:
    at = f" at {server}" if server else ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CommandFailed(
            f"cannot reach the ledger{at} ({code.name}: {details}); is it running? "
            "Give its address with --ledger HOST:PORT",
            ExitCode.UNREACHABLE,
        )
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return CommandFailed(
            f"the ledger{at} did not accept the credentials: {details}", ExitCode.CREDENTIALS
        )
    return CommandFailed(f"the ledger{at} refused: {code.name}: {details}", ExitCode.REFUSED)


def server_said(response: httpx.Response) -> str:
    """The server's own ``{code, message}`` (PACT) or ``{error, error_description}``
    (OAuth2) when it sent one, else the status line."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "code" in body:
        return f"{body['code']}: {body.get('message', '')}"
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']}: {body.get('error_description', '')}"
    return response.reason_phrase


def _http_failure(response: httpx.Response) -> CommandFailed:
    said = server_said(response)
    request = response.request
    message = (
        f"the gateway answered {response.status_code} to {request.method} "
        f"{request.url.copy_with(query=None)}: {said}"
    )
    code = ExitCode.CREDENTIALS if response.status_code == 401 else ExitCode.REFUSED
    return CommandFailed(message, code)


class ReportingGroup(click.Group):
    """The ``carbonledger`` group: every subcommand's expected failures become one line
    and an exit code; Ctrl-C ends a command quietly with 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except Exception as exc:
            failure = failure_of(exc, ctx.meta.get(SERVER_KEY))
            if failure is None:
                raise
            raise failure from None
