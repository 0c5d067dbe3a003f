"""``carbonledger witness``: run a c2sp.org/tlog-witness (``serve``), or witness a
ledger by pulling its checkpoint over gRPC (``pull``).

Both take the witness's key file and name (``witness-key`` prints the vkey to give
the ledger's operator) and a state directory; both decide with the same core
(``clients.witness``). Exit status of ``pull``: 0 cosigned, 1 refused, and the
command line's codes otherwise (``clients.cli_errors``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from clients.audit.model import AuditError
from clients.audit.rpc import LedgerRpc
from clients.audit_cli import ledger_verifier
from clients.cli_errors import CommandFailed, ExitCode, failure_of, read_private_key
from clients.cli_params import HOST_PORT, ledger_option, split_address
from clients.witness.core import Witness, WitnessError
from clients.witness.pull import Pulled, pull_once
from clients.witness.state import WitnessStateError, WitnessStore
from ledger.note import CosignatureSigner, NoteError, NoteVerifier

_KEY = click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The witness's Ed25519 private key file (carbonledger keys new).",
)
_NAME = click.option("--name", default="witness", show_default=True, help="The witness key's name.")
_STATE = click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory keeping the latest checkpoint cosigned per log (shareable by witnesses "
    "with the same key).",
)


def _witness(key_file: Path, name: str, logs: list[NoteVerifier], state_dir: Path) -> Witness:
    try:
        signer = CosignatureSigner(name, read_private_key(key_file))
    except NoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    try:
        return Witness(signer, logs, WitnessStore(state_dir))
    except WitnessStateError as exc:
        raise CommandFailed(str(exc), ExitCode.USAGE) from None


@click.group()
def witness() -> None:
    """Cosign checkpoints of ledgers, each only if consistent with the last one cosigned."""


@witness.command("serve")
@_KEY
@_NAME
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    metavar="VKEY",
    help="Vkey of a log to witness (or a file holding it); its name is the origin (repeatable).",
)
@_STATE
@click.option(
    "--listen",
    default="127.0.0.1:7380",
    show_default=True,
    type=HOST_PORT,
    help="HTTP HOST:PORT to listen on (port 0: any free port).",
)
@click.option(
    "--prefix",
    default="",
    help="Submission prefix path (e.g. /witness): serves POST PREFIX/add-checkpoint.",
)
def serve(
    key_file: Path, name: str, logs: tuple[str, ...], state_dir: Path, listen: str, prefix: str
) -> None:
    """Serve c2sp.org/tlog-witness add-checkpoint until interrupted (Ctrl-C: exit 0).

    Prints the witness's vkey (`witness-key:`) and its submission prefix (`url:`),
    the two things the ledger's operator gives `serve --witness VKEY=URL`."""
    from clients.serving import address_unavailable, stop_on_signals
    from clients.witness.server import create_witness_app
    from gateway.server import HttpServer

    prefix = prefix.rstrip("/")
    if prefix and not prefix.startswith("/"):
        raise click.BadParameter("a path starting with /", param_hint="--prefix")
    served = _witness(key_file, name, [ledger_verifier(v, "--log") for v in logs], state_dir)
    stop = stop_on_signals()
    host, port = split_address(listen)
    try:
        http = HttpServer(create_witness_app(served, prefix), host, port)
    except OSError as exc:
        raise address_unavailable("--listen", listen, exc.strerror or str(exc)) from None
    http.start()
    try:
        click.echo(f"witness-key: {served.signer.vkey}")
        click.echo(f"url: {http.url}{prefix}")
        click.echo(f"logs: {' '.join(served.origins)}")
        sys.stdout.flush()
        stop.wait()
    finally:
        http.stop()


@witness.command("pull")
@ledger_option(param_decls=("--ledger", "target"), default=None, required=True)
@click.option("--ledger-key", required=True, help="The ledger's vkey (or a file holding it).")
@_KEY
@_NAME
@_STATE
@click.option("--interval", type=float, default=0.0, help="Repeat every N seconds (0: once).")
def pull(
    target: str, ledger_key: str, key_file: Path, name: str, state_dir: Path, interval: float
) -> None:
    """Cosign the ledger's checkpoint (over gRPC) if it is consistent with the last one
    cosigned, and hand the cosignature to the ledger."""
    pulled = _witness(key_file, name, [ledger_verifier(ledger_key)], state_dir)
    click.echo(f"witness-key: {pulled.signer.vkey}")
    rpc = LedgerRpc(target)
    try:
        while True:
            status = _pull_once(rpc, pulled, target)
            if interval <= 0 or status != 0:
                sys.exit(status)
            time.sleep(interval)
    finally:
        rpc.close()


def _pull_once(rpc: LedgerRpc, pulled: Witness, target: str) -> int:
    try:
        result = pull_once(rpc, pulled)
    except WitnessError as exc:
        click.echo(f"REFUSED: {exc}", err=True)
        return 1
    except (AuditError, OSError) as exc:
        raise failure_of(exc, target) or CommandFailed(str(exc), ExitCode.USAGE) from None
    click.echo(f"cosigned size {result.size} ({_since(result)})")
    return 0


def _since(pulled: Pulled) -> str:
    """What the cosignature vouches for beyond the checkpoint itself."""
    if pulled.previous_size == 0:
        return "the first checkpoint this witness has cosigned"
    return f"consistent with size {pulled.previous_size}, cosigned before"
