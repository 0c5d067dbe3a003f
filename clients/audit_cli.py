"""``carbonledger audit`` and ``witness``: the verifier's commands (``verify-entry`` is in
``clients.verify_entry_cli``).

Exit status: 0 when everything holds, 1 when a check fails (or a witness
refuses); the codes of the failures that stop a command (2: it could not be
carried out, 3: the ledger or gateway did not answer, 4: credentials refused)
are the command line's own (``clients.cli_errors``, docs/api.md).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import httpx

from clients.audit.db_source import DbSource
from clients.audit.gateway_source import ServedEvaluations, served_footprints
from clients.audit.grpc_source import GrpcSource
from clients.audit.model import AuditError
from clients.audit.rpc import LedgerRpc
from clients.audit.run import run_audit
from clients.audit.served import served_check
from clients.audit.source import RecordSource
from clients.audit.witness import (
    WitnessRefusal,
    WitnessState,
    load_witness_state,
    save_witness_state,
    witness_checkpoint,
)
from clients.cli_errors import (
    CommandFailed,
    ExitCode,
    failure_of,
    read_private_key,
)
from clients.cli_params import GATEWAY_URL, STORE_URL, ledger_option, require_existing_store
from ledger.note import CosignatureSigner, NoteError, NoteVerifier
from ledger.store.database import Database


def ledger_verifier(value: str) -> NoteVerifier:
    """``--ledger-key``: the vkey itself, or a file holding it."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    try:
        return NoteVerifier.from_vkey(text.removeprefix("ledger-key:").strip())
    except NoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--ledger-key") from None


def _fail(exc: Exception, server: str | None) -> CommandFailed:
    """The one-line failure for ``exc``, 2 unless it says otherwise (these commands
    also run outside the ``carbonledger`` group, in tests and other groups)."""
    return failure_of(exc, server) or CommandFailed(str(exc), ExitCode.USAGE)


@click.command()
@ledger_option(param_decls=("--ledger", "target"), default=None)
@click.option(
    "--db", "db_url", type=STORE_URL, help="Audit a database offline instead (store URL)."
)
@click.option("--ledger-key", required=True, help="The ledger's vkey (or a file holding it).")
@click.option("--key", "key_file", type=click.Path(path_type=Path), help="Auditor org's key.")
@click.option("--org", help="URN of the auditor org (role auditor).")
@click.option("--state", "state_dir", type=click.Path(path_type=Path), help="Audit state dir.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--from-scratch", is_flag=True, help="Re-read the whole log, ignore saved state.")
@click.option("--workers", type=int, default=None, help="Verifier processes (default: cores).")
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=None,
    help="Already-audited records an incremental audit re-checks (default: all up to 256).",
)
@click.option(
    "--gateway",
    type=GATEWAY_URL,
    help="Also compare the PACT view and the zero-carbon evaluations it serves.",
)
@click.option("--client-id", envvar="CARBONLEDGER_CLIENT_ID", help="Gateway client (auditor org).")
@click.option("--client-secret", envvar="CARBONLEDGER_CLIENT_SECRET", help="Its secret.")
def audit(
    target: str | None,
    db_url: str | None,
    ledger_key: str,
    key_file: Path | None,
    org: str | None,
    state_dir: Path | None,
    as_json: bool,
    from_scratch: bool,
    workers: int | None,
    sample: int | None,
    gateway: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> None:
    """Verify the whole ledger: checkpoint, records, signatures, rules, root, consistency."""
    verifier = ledger_verifier(ledger_key)
    if (target is None) == (db_url is None):
        raise click.UsageError("give exactly one of --ledger HOST:PORT and --db URL")
    served = evaluations = None
    if gateway is not None:
        if client_id is None or client_secret is None:
            raise click.UsageError("--gateway needs --client-id and --client-secret")
        served = served_check(served_footprints(gateway, client_id, client_secret))
        evaluations = ServedEvaluations(gateway, client_id, client_secret)
    source: RecordSource
    stored: Database | None = None
    try:
        if db_url is not None:
            require_existing_store(db_url)
            source = DbSource(db_url)
            stored = source.db
        else:
            if key_file is None or org is None:
                raise click.UsageError("--ledger needs --key and --org (an auditor org)")
            source = GrpcSource(str(target), org, read_private_key(key_file))
        try:
            report = run_audit(
                source,
                verifier,
                state_dir,
                from_scratch=from_scratch,
                progress=sys.stderr.isatty() and not as_json,
                workers=workers,
                stored=stored,
                sample=sample,
                served=served,
                served_evaluation=evaluations,
            )
        finally:
            source.close()
            if evaluations is not None:
                evaluations.close()
    except httpx.HTTPError as exc:
        raise _fail(exc, gateway) from None
    except (AuditError, OSError, ValueError) as exc:
        raise _fail(exc, target) from None
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.to_text())
    sys.exit(0 if report.ok else 1)


@click.command()
@ledger_option(param_decls=("--ledger", "target"), default=None, required=True)
@click.option("--ledger-key", required=True, help="The ledger's vkey (or a file holding it).")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path),
    help="The witness's Ed25519 private key file (created if missing).",
)
@click.option("--name", default="witness", show_default=True, help="The witness key's name.")
@click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory keeping the last checkpoint this witness cosigned.",
)
@click.option("--interval", type=float, default=0.0, help="Repeat every N seconds (0: once).")
def witness(
    target: str, ledger_key: str, key_file: Path, name: str, state_dir: Path, interval: float
) -> None:
    """Cosign the ledger's checkpoint if it is consistent with the last one seen."""
    verifier = ledger_verifier(ledger_key)
    try:
        signer = CosignatureSigner(name, read_private_key(key_file))
    except (OSError, ValueError, NoteError) as exc:
        raise _fail(exc, None) from None
    click.echo(f"witness-key: {signer.vkey}")
    rpc = LedgerRpc(target)
    try:
        while True:
            status = _witness_once(rpc, verifier, signer, state_dir, target)
            if interval <= 0 or status != 0:
                sys.exit(status)
            time.sleep(interval)
    finally:
        rpc.close()


def _witness_once(
    rpc: LedgerRpc, verifier: NoteVerifier, signer: CosignatureSigner, state_dir: Path, target: str
) -> int:
    try:
        saved = load_witness_state(state_dir)
        note = rpc.checkpoint_note()
        cosigned = witness_checkpoint(
            note, verifier, saved, rpc.consistency_proof, signer, int(time.time())
        )
        cp = cosigned.checkpoint
        save_witness_state(state_dir, WitnessState(cp.size, cp.root_hash, note))
        rpc.add_cosignature(cp.size, cosigned.line)
    except WitnessRefusal as exc:
        click.echo(f"REFUSED: {exc}", err=True)
        return 1
    except (AuditError, OSError) as exc:
        raise _fail(exc, target) from None
    click.echo(f"cosigned size {cp.size} ({_since(cosigned.previous_size)})")
    return 0


def _since(previous_size: int | None) -> str:
    """What the cosignature vouches for beyond the checkpoint itself."""
    if previous_size is None:
        return "the first checkpoint this witness has seen"
    return f"consistent with size {previous_size}, cosigned before"
