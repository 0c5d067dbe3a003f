"""The option values every ``carbonledger`` command checks the same way before it runs.

A malformed address or store URL is the user's typo, so it is a usage error
(exit 2, docs/api.md "CLI exit codes") caught by click before anything is
contacted or created: ``--grpc 127.0.0.1:99999`` must not silently listen on
port 34463 (the kernel keeps only 16 bits), and ``--db garbage://x`` must not
reach SQLAlchemy with a data directory already half made.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import httpx
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from clients.cli_errors import SERVER_KEY, CommandFailed, ExitCode
from ledger.datadir import DEFAULT_DATA_DIR, DataDir

DEFAULT_LEDGER = "127.0.0.1:50051"
DEFAULT_GATEWAY = "http://127.0.0.1:8080"
DATA_DIR_ENV = "CARBONLEDGER_DATA_DIR"
MAX_PORT = 65535


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 hosts in brackets) as a host and a port number in 0..65535."""
    host, _, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isascii() or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    _check_port(int(port), address)
    return host, int(port)


def _check_port(port: int, address: str) -> None:
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"port {port} of {address!r} is not in 0..{MAX_PORT}")


class HostPort(click.ParamType[str]):
    """``HOST:PORT`` for ``--grpc``, ``--http`` and ``--ledger``; the value stays a string."""

    name = "HOST:PORT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            split_address(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class GatewayUrl(click.ParamType[str]):
    """``--gateway``: an http(s) base URL with a host and a port in range."""

    name = "URL"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            url = httpx.URL(str(value))
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
            if url.port is not None:
                _check_port(url.port, str(value))
        except (httpx.InvalidURL, ValueError) as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class StoreUrl(click.ParamType[str]):
    """``--db``: a SQLAlchemy URL whose dialect is installed. The message never
    repeats the URL, which may carry a password."""

    name = "URL"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            make_url(str(value)).get_dialect()
        except sqlalchemy.exc.ArgumentError:
            self.fail(
                "not a database URL SQLAlchemy can use (e.g. sqlite:///PATH or "
                "postgresql+psycopg://USER@HOST/DB)",
                param,
                ctx,
            )
        return str(value)


HOST_PORT = HostPort()
GATEWAY_URL = GatewayUrl()
STORE_URL = StoreUrl()


def ledger_option(**options: Any) -> Callable[[Any], Any]:
    """``--ledger HOST:PORT`` (default 127.0.0.1:50051 unless ``default`` is given): the
    address is remembered so that an unreachable ledger is named in the error."""
    options.setdefault("default", DEFAULT_LEDGER)
    options.setdefault("show_default", options["default"] is not None)
    options.setdefault("help", "gRPC HOST:PORT of the ledger.")
    options.setdefault("type", HOST_PORT)
    param_decls = options.pop("param_decls", ("--ledger",))
    return click.option(*param_decls, callback=_remember_server, **options)


def _remember_server(ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is not None:
        ctx.meta[SERVER_KEY] = value
    return value


def require_existing_store(url: str) -> None:
    """Refuse a SQLite store file that does not exist (exit 2).

    Only ``serve`` and ``demo`` create a store; the commands that read or
    administer one would otherwise create an empty database (and its
    directories) and answer as if the ledger were empty.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    if parsed.database == ":memory:" or parsed.query.get("uri"):
        return
    path = Path(parsed.database)
    if not path.is_file():
        raise CommandFailed(
            f"{path}: no ledger store there (give the ledger's --data-dir or --db; "
            "only serve and demo create a store)",
            ExitCode.USAGE,
        )


def gateway_client_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--gateway``, ``--client-id`` and ``--client-secret``: the gateway and the API
    client a command that reads through the gateway logs in as
    (``clients.gateway_session``)."""
    return _gateway_options(command, required=True)


def optional_gateway_client_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The same options for a command that can also work offline (it checks that the
    three come together when it needs them)."""
    return _gateway_options(command, required=False)


def _gateway_options(command: Callable[..., Any], *, required: bool) -> Callable[..., Any]:
    for option in reversed(
        (
            click.option(
                "--gateway",
                required=required,
                type=GATEWAY_URL,
                callback=_remember_server,
                help="Base URL of the gateway.",
            ),
            click.option(
                "--client-id",
                envvar="CARBONLEDGER_CLIENT_ID",
                required=required,
                help="The gateway API client (env CARBONLEDGER_CLIENT_ID).",
            ),
            click.option(
                "--client-secret",
                envvar="CARBONLEDGER_CLIENT_SECRET",
                required=required,
                help="Its secret (env CARBONLEDGER_CLIENT_SECRET).",
            ),
        )
    ):
        command = option(command)
    return command


def data_dir_option(help_text: str, *, default: Path | None = None) -> Callable[[Any], Any]:
    """``--data-dir D`` (or ``CARBONLEDGER_DATA_DIR``): the ledger's data directory.

    Only ``serve`` has a default (it creates ``./carbonledger-data``); the commands
    that use an existing one resolve a missing value with ``existing_data_dir``, so
    that a command run from another directory says what to set instead of failing
    on a key file it cannot find."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar=DATA_DIR_ENV,
        show_envvar=True,
        default=default,
        show_default=default is not None,
        help=help_text,
    )


def existing_data_dir(given: Path | None) -> DataDir:
    """The data directory ``given`` (by ``--data-dir`` or the environment), else
    ``./carbonledger-data`` when it exists; otherwise a usage error (2) naming both ways
    to give it."""
    path = given if given is not None else DEFAULT_DATA_DIR
    if path.is_dir():
        return DataDir(path)
    if given is None:
        raise CommandFailed(
            f"no ledger data directory at ./{DEFAULT_DATA_DIR}: give the directory "
            f"`carbonledger serve` keeps the ledger in with --data-dir D or {DATA_DIR_ENV}=D",
            ExitCode.USAGE,
        )
    raise CommandFailed(
        f"{path}: no ledger data directory there (give the one `carbonledger serve` "
        f"keeps the ledger in with --data-dir D or {DATA_DIR_ENV}=D)",
        ExitCode.USAGE,
    )
