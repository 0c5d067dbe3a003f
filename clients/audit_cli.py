"""``carbonledger audit``: the auditor's command (``verify-entry`` is in
``clients.verify_entry_cli``, ``witness`` in ``clients.witness_cli``).

Exit status: 0 when everything holds, 1 when a check fails; the codes of the
failures that stop a command (2: it could not be carried out, 3: the ledger or
gateway did not answer, 4: credentials refused) are the command line's own
(``clients.cli_errors``, docs/api.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import httpx

from clients.audit.db_source import DbSource
from clients.audit.gateway_source import ServedEvaluations, served_footprints
from clients.audit.grpc_source import GrpcSource
from clients.audit.model import AuditError
from clients.audit.run import run_audit
from clients.audit.served import served_check
from clients.audit.source import RecordSource
from clients.cli_errors import (
    CommandFailed,
    ExitCode,
    failure_of,
    read_private_key,
)
from clients.cli_params import GATEWAY_URL, STORE_URL, ledger_option, require_existing_store
from ledger.note import NoteError, NoteVerifier
from ledger.note.tlog_policy import TlogPolicy
from ledger.store.database import Database


def ledger_verifier(value: str, option: str = "--ledger-key") -> NoteVerifier:
    """A ledger's vkey option (``--ledger-key``): the vkey itself, or a file holding it."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    try:
        return NoteVerifier.from_vkey(text.removeprefix("ledger-key:").strip())
    except NoteError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def read_policy(path: Path, ledger: NoteVerifier) -> TlogPolicy:
    """``--policy``: a C2SP tlog-policy file. A file that cannot be read or parsed is a
    usage error (exit 2), and so is a policy whose ``log`` lines do not list the
    ``--ledger-key``: no checkpoint of that ledger could ever meet it, so the two options
    contradict each other. A policy without ``log`` lines takes the ``--ledger-key``."""
    try:
        policy = TlogPolicy.parse(path.read_text())
    except (NoteError, OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
    if policy.logs and ledger.vkey not in (log.vkey for log in policy.logs):
        raise click.BadParameter(
            f"{path} lists the logs {', '.join(log.vkey for log in policy.logs)}, not the "
            f"--ledger-key {ledger.vkey}",
            param_hint="--policy",
        )
    return policy


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
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A C2SP tlog-policy file the checkpoint must satisfy (log key, witness quorum).",
)
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
    policy_file: Path | None,
) -> None:
    """Verify the whole ledger: checkpoint, records, signatures, rules, root, consistency."""
    verifier = ledger_verifier(ledger_key)
    policy = read_policy(policy_file, verifier) if policy_file is not None else None
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
                policy=policy,
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
