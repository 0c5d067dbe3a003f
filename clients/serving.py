"""The ledger and its gateway started together, for ``serve`` and ``demo``.

Both addresses are checked before anything is created (not even a new data
directory), and bound before anything starts, so an address that is taken ends
the command with one line naming it (exit 5) while there is nothing to undo: no
server threads, no worker processes, no half-open ports. Once both run, leaving
the block stops the gateway and then the ledger.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clients.cli_errors import CommandFailed, ExitCode
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.server import HttpServer
from ledger.server import AddressUnavailableError, LedgerServer, ServerConfig, check_can_listen


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 hosts in brackets) as a host and a port number."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def address_unavailable(option: str, address: str, reason: str) -> CommandFailed:
    return CommandFailed(
        f"cannot listen on {address} ({reason}); choose another address with "
        f"{option} HOST:PORT (port 0 picks a free one)",
        ExitCode.ADDRESS_UNAVAILABLE,
    )


@contextmanager
def ledger_and_gateway(
    config: ServerConfig,
    http_address: str,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> Iterator[tuple[LedgerServer, HttpServer]]:
    """A started ledger and gateway; ``CommandFailed`` (exit 5) if an address is taken."""
    host, port = split_address(http_address)
    for option, address in (("--grpc", config.grpc_address), ("--http", http_address)):
        try:
            check_can_listen(address)
        except AddressUnavailableError as exc:
            raise address_unavailable(option, exc.address, exc.reason) from None
    server = LedgerServer(config)
    try:
        app = create_app(GatewayContext.from_server(server))
        try:
            http = HttpServer(app, host, port, tls_cert=tls_cert, tls_key=tls_key)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise address_unavailable("--http", http_address, reason) from None
    except BaseException:
        server.db.dispose()
        raise
    try:
        server.start()
    except BaseException as exc:
        http.stop()
        server.db.dispose()
        if isinstance(exc, AddressUnavailableError):
            raise address_unavailable("--grpc", exc.address, exc.reason) from None
        raise
    try:
        http.start()
        yield server, http
    finally:
        http.stop()
        server.stop()


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM. Installed before anything starts, so Ctrl-C
    at any moment means an orderly stop (exit 0), never a ``KeyboardInterrupt``."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop
