"""The ledger and its gateway started together, for ``serve`` and ``demo``.

Both addresses and the TLS files are checked before anything is created (not
even a new data directory), and both addresses bound before anything starts, so
an address that is taken ends the command with one line naming it (exit 5) while
there is nothing to undo: no server threads, no worker processes, no half-open
ports. What the checks cannot foresee (the same port given twice, a database
that does not answer) still leaves nothing behind: a data directory created by
the failed start is removed. Once both run, leaving
the block stops the gateway and then the ledger.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clients.cli_errors import CommandFailed, ExitCode
from clients.cli_params import split_address
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.key_binding import ForeignGatewayKeyError
from gateway.server import HttpServer, TlsFilesError, check_tls_files
from ledger.checkpointer import ForeignCheckpointError
from ledger.errors import IntegrityError
from ledger.server import AddressUnavailableError, LedgerServer, ServerConfig, check_can_listen


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
    trusted_proxies: tuple[str, ...] = (),
) -> Iterator[tuple[LedgerServer, HttpServer]]:
    """A started ledger and gateway; ``CommandFailed`` (exit 5) if an address is taken,
    (exit 2) if the TLS files are unusable. A data directory this call created is
    removed again when the servers do not start, whatever the reason."""
    for option, address in (("--grpc", config.grpc_address), ("--http", http_address)):
        try:
            check_can_listen(address)
        except AddressUnavailableError as exc:
            raise address_unavailable(option, exc.address, exc.reason) from None
    grpc_host_port = split_address(config.grpc_address)
    if grpc_host_port == split_address(http_address) and grpc_host_port[1] != 0:
        raise address_unavailable("--http", http_address, "it is also the --grpc address")
    if tls_cert is not None and tls_key is not None:
        try:
            check_tls_files(tls_cert, tls_key)
        except TlsFilesError as exc:
            raise CommandFailed(str(exc), ExitCode.USAGE) from None
    created = _first_missing(config.data_dir)
    try:
        server, http = _started(config, http_address, tls_cert, tls_key, trusted_proxies)
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    try:
        http.start()
        yield server, http
    finally:
        http.stop()
        server.stop()


def _first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (what starting creates)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _started(
    config: ServerConfig,
    http_address: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    trusted_proxies: tuple[str, ...],
) -> tuple[LedgerServer, HttpServer]:
    """The ledger started and the gateway's socket bound; on failure, nothing running."""
    host, port = split_address(http_address)
    server = LedgerServer(config)
    try:
        app = create_app(GatewayContext.from_server(server))
        try:
            http = HttpServer(
                app,
                host,
                port,
                tls_cert=tls_cert,
                tls_key=tls_key,
                trusted_proxies=trusted_proxies,
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise address_unavailable("--http", http_address, reason) from None
    except ForeignGatewayKeyError as exc:
        server.db.dispose()
        raise CommandFailed(str(exc), ExitCode.USAGE) from None
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
        if isinstance(exc, ForeignCheckpointError):
            raise CommandFailed(
                f"{exc}: every process serving one database needs the same ledger key; "
                f"copy ledger.key from the data directory of the process that started it "
                f"to {server.data_dir.ledger_key_path}",
                ExitCode.USAGE,
            ) from None
        if isinstance(exc, IntegrityError):
            raise CommandFailed(
                f"{exc.reason}: the store was changed behind the ledger's back; "
                f"`carbonledger fsck` names the rows that differ",
                ExitCode.REFUSED,
            ) from None
        raise
    return server, http


class _SignalledStop(threading.Event):
    """An event whose untimed ``wait`` wakes twice a second. The kernel may deliver a
    process's signal to any of its threads; Python then runs the handler only when the
    main thread next runs bytecode, which an untimed wait never does: ``serve`` slept
    through a SIGINT for good once in CI (its handler never ran)."""

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            return super().wait(timeout)
        while not super().wait(0.5):
            pass
        return True


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM. Installed before anything starts, so Ctrl-C
    at any moment means an orderly stop (exit 0), never a ``KeyboardInterrupt``."""
    stop = _SignalledStop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop
