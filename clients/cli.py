"""The ``carbonledger`` command line.

Commands let failures propagate: the group (``ReportingGroup``) prints them as
one line with a documented exit code (docs/api.md, "CLI exit codes").
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from clients.cli_errors import ReportingGroup
from clients.cli_params import HOST_PORT, STORE_URL, data_dir_option, ledger_option
from clients.sdk import LedgerClient
from ledger.datadir import DEFAULT_DATA_DIR

DEFAULT_GRPC = "127.0.0.1:50051"
DEFAULT_HTTP = "127.0.0.1:8080"


_GRPC_LISTEN = click.option(
    "--grpc",
    "grpc_address",
    default=DEFAULT_GRPC,
    show_default=True,
    type=HOST_PORT,
    help="Where the ledger listens (gRPC HOST:PORT; port 0: any free port).",
)
_HTTP_LISTEN = click.option(
    "--http",
    "http_address",
    default=DEFAULT_HTTP,
    show_default=True,
    type=HOST_PORT,
    help="Where the gateway listens (HTTP HOST:PORT; port 0: any free port).",
)


@click.group(cls=ReportingGroup)
@click.version_option(package_name="carbonledger")
def main() -> None:
    """carbonledger: a supply-chain carbon traceability ledger."""


@main.command()
@data_dir_option(
    "Keys and the SQLite default store (created if missing).",
    default=DEFAULT_DATA_DIR,
)
@click.option(
    "--db",
    "db_url",
    type=STORE_URL,
    help="Store URL, e.g. postgresql+psycopg://user@host/db "
    "(default: SQLite in the data directory).",
)
@_GRPC_LISTEN
@_HTTP_LISTEN
@click.option("--origin", help="Checkpoint origin line and ledger key name.")
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM certificate: serve HTTPS.",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM private key for --tls-cert.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY[=URL]",
    help="C2SP vkey of a witness whose cosignatures to accept and verify, with =URL its "
    "tlog-witness submission prefix to push each new checkpoint to (repeatable; "
    "cosignatures of other keys are refused).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="IP",
    help="A reverse proxy whose X-Forwarded-For names the client (repeatable; by default "
    "no proxy is trusted and the peer address is the client's).",
)
@click.option(
    "--open-witnessing",
    is_flag=True,
    help="Also keep well-formed cosignatures of unconfigured keys, unverified, at most 4 "
    "keys per network per checkpoint (for test setups; see docs/operations.md).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="Least severe log lines written to stderr (one line each: time, level, source).",
)
def serve(
    data_dir: Path,
    db_url: str | None,
    grpc_address: str,
    http_address: str,
    origin: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    witnesses: tuple[str, ...],
    trusted_proxies: tuple[str, ...],
    open_witnessing: bool,
    log_level: str,
) -> None:
    """Run the ledger (gRPC) and the gateway (HTTP) until interrupted (Ctrl-C: exit 0)."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from clients.serving import ledger_and_gateway, stop_on_signals
    from ledger.note import NoteError
    from ledger.process import settle_heap_after_startup
    from ledger.server import ServerConfig
    from ledger.witness_http import InvalidWitnessURLError
    from ledger.witness_pusher import WitnessEndpoint

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    for vkey in witnesses:
        try:
            WitnessEndpoint.parse(vkey)
        except (NoteError, InvalidWitnessURLError) as exc:
            raise click.BadParameter(str(exc), param_hint="--witness") from None
    config = ServerConfig(
        data_dir=data_dir,
        db_url=db_url,
        grpc_address=grpc_address,
        witnesses=witnesses,
        open_witnessing=open_witnessing,
    )
    if origin:
        config.origin = origin
    stop = stop_on_signals()
    with ledger_and_gateway(
        config,
        http_address,
        tls_cert=tls_cert,
        tls_key=tls_key,
        trusted_proxies=trusted_proxies,
    ) as (server, http):
        settle_heap_after_startup()
        click.echo(f"grpc: {server.grpc_target}")
        click.echo(f"http: {http.url}")
        click.echo(f"ledger-key: {server.vkey}", nl=True)
        sys.stdout.flush()
        stop.wait()


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where to keep the demo ledger (default: a new temporary directory).",
)
@_GRPC_LISTEN
@_HTTP_LISTEN
@click.option("--seed", default=2025, show_default=True, help="Deterministic demo data seed.")
def demo(data_dir: Path | None, grpc_address: str, http_address: str, seed: int) -> None:
    """A fresh ledger and gateway with a battery-recycling supply chain, and a tour."""
    from clients.demo.run import run_demo
    from clients.serving import stop_on_signals

    stop = stop_on_signals()
    run_demo(data_dir, grpc_address, http_address, seed=seed, stop=stop, echo=click.echo)


@main.command()
@ledger_option()
def checkpoint(ledger: str) -> None:
    """Print the ledger's latest signed checkpoint."""
    with LedgerClient(ledger) as client:
        click.echo(client.checkpoint().note, nl=False)


def _register_commands() -> None:
    from clients.audit_cli import audit
    from clients.clients_cli import clients
    from clients.export_cli import export
    from clients.fsck_cli import fsck_command
    from clients.gateway_cli import ready, token
    from clients.keys_cli import keys, ledger_key, witness_key
    from clients.operator_cli import factors, org
    from clients.submit_cli import submit
    from clients.verify_entry_cli import verify_entry
    from clients.witness_cli import witness

    for command in (
        keys,
        ledger_key,
        witness_key,
        org,
        factors,
        submit,
        ready,
        token,
        audit,
        witness,
        verify_entry,
        clients,
        export,
        fsck_command,
    ):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
