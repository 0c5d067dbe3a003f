"""The ``carbonledger`` command line.

Commands let failures propagate: the group (``ReportingGroup``) prints them as
one line with a documented exit code (docs/api.md, "CLI exit codes").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clients.cli_errors import CommandFailed, ExitCode, ReportingGroup, read_private_key
from clients.cli_params import HOST_PORT, STORE_URL, ledger_option
from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from ledger.datadir import DEFAULT_DATA_DIR, DEFAULT_OPERATOR_ORG, DataDir
from ledger.keys import (
    encode_public_key,
    new_private_key,
    read_public_key_argument,
    save_private_key,
)

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
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Keys and the SQLite default store.",
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
    metavar="VKEY",
    help="C2SP vkey of a witness whose cosignatures to accept and verify (repeatable; "
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
) -> None:
    """Run the ledger (gRPC) and the gateway (HTTP) until interrupted (Ctrl-C: exit 0)."""
    from clients.serving import ledger_and_gateway, stop_on_signals
    from ledger.note import CosignatureVerifier, NoteError
    from ledger.process import settle_heap_after_startup
    from ledger.server import ServerConfig

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    for vkey in witnesses:
        try:
            CosignatureVerifier.from_vkey(vkey)
        except NoteError as exc:
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


@main.group()
def keys() -> None:
    """Ed25519 key files."""


@keys.command("new")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Private key file (PKCS#8 PEM, 0600); FILE.pub gets the public key.",
)
def keys_new(out: Path) -> None:
    """Create a key pair and print the public key (base64)."""
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    click.echo(save_private_key(new_private_key(), out))


@main.group()
def org() -> None:
    """Organisations on the ledger."""


def operator_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that locate the operator's key, for commands the operator signs."""
    for option in reversed(
        (
            click.option(
                "--data-dir",
                type=click.Path(path_type=Path),
                default=DEFAULT_DATA_DIR,
                show_default=True,
                help="Where the operator key lives.",
            ),
            click.option(
                "--operator-key",
                type=click.Path(path_type=Path, exists=True),
                help="The operator key file (instead of --data-dir).",
            ),
            click.option(
                "--operator-org",
                default=DEFAULT_OPERATOR_ORG,
                show_default=True,
                help="The operator organisation's URN.",
            ),
        )
    ):
        command = option(command)
    return command


def _submit_as_operator(
    entry_type: str,
    members: dict[str, Any],
    data_dir: Path,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    key_path = operator_key or DataDir(data_dir).operator_key_path
    signer = OrgSigner(operator_org, read_private_key(key_path))
    entry = new_entry(entry_type, operator_org, **members)
    with LedgerClient(ledger) as client:
        receipt = client.submit(signer.sign(entry))
    click.echo(json.dumps(receipt.to_json()))


@org.command("enroll")
@click.option("--org", "org_id", required=True, help="The new organisation's URN.")
@click.option("--name", required=True, help="The organisation's display name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["supplier", "buyer", "verifier", "auditor", "publisher", "operator"]),
    help="A role of the organisation; repeat for several.",
)
@click.option("--public-key", required=True, help="Base64 public key or a .pub file.")
@click.option(
    "--company-id",
    "company_ids",
    multiple=True,
    help="A company id (URN) the org declares footprints for; repeatable. Default: ORG_ID.",
)
@operator_options
@ledger_option()
def org_enroll(
    org_id: str,
    name: str,
    roles: tuple[str, ...],
    public_key: str,
    company_ids: tuple[str, ...],
    data_dir: Path,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Enrol an organisation (signed with the operator key)."""
    try:
        public = read_public_key_argument(public_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-key") from None
    members: dict[str, Any] = {
        "orgId": org_id,
        "name": name,
        "roles": list(dict.fromkeys(roles)),
        "publicKey": encode_public_key(public),
    }
    if company_ids:
        members["companyIds"] = list(dict.fromkeys(company_ids))
    _submit_as_operator("org.enroll", members, data_dir, operator_key, operator_org, ledger)


@org.command("companies")
@click.option("--org", "org_id", required=True, help="The enrolled organisation's URN.")
@click.option(
    "--company-id",
    "company_ids",
    multiple=True,
    required=True,
    help="A company id (URN) the org declares footprints for; repeatable. Replaces its ids.",
)
@operator_options
@ledger_option()
def org_companies(
    org_id: str,
    company_ids: tuple[str, ...],
    data_dir: Path,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Set the company ids an organisation declares footprints for (signed with the
    operator key); the ids it had and that are not listed are released."""
    members = {"orgId": org_id, "companyIds": list(dict.fromkeys(company_ids))}
    _submit_as_operator("org.companies", members, data_dir, operator_key, operator_org, ledger)


@org.command("account")
@click.option("--org", "org_id", required=True, help="The enrolled organisation's URN.")
@click.option("--registry", required=True, help="The registry (slug, e.g. cn-gec).")
@click.option("--account-id", required=True, help="The org's account id at the registry.")
@click.option(
    "--serials",
    "serial_ranges",
    nargs=2,
    multiple=True,
    metavar="FIRST LAST",
    help="A serial range the registry issued to the account; repeatable. Replaces its ranges.",
)
@operator_options
@ledger_option()
def org_account(
    org_id: str,
    registry: str,
    account_id: str,
    serial_ranges: tuple[tuple[str, str], ...],
    data_dir: Path,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Bind a registry account, with the serials the registry issued to it, to the
    organisation holding it (signed with the operator key); the org then retires those
    serials from it. Binding an account again moves it and replaces its serials."""
    members = {
        "registry": registry,
        "accountId": account_id,
        "orgId": org_id,
        "serialRanges": [{"first": first, "last": last} for first, last in serial_ranges],
    }
    _submit_as_operator("registry.account", members, data_dir, operator_key, operator_org, ledger)


@main.command()
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="The signing organisation's Ed25519 private key file.",
)
@click.option("--org", "org_id", required=True, help="The signing organisation's URN.")
@ledger_option()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def submit(key_path: Path, org_id: str, ledger: str, files: tuple[Path, ...]) -> None:
    """Sign and submit entry files; print one JSON receipt per line as each is acknowledged.

    Each file holds one entry object (or a JSON array of them). A missing
    entryId is filled in, so resubmitting the printed entry is idempotent.
    """
    signer = OrgSigner(org_id, read_private_key(key_path))
    signed = []
    for path in files:
        for obj in _entry_objects(path):
            entry = {"org": org_id, **obj}
            if "entryId" not in entry:
                entry = {**new_entry(str(obj.get("type", "")), org_id), **entry}
            signed.append(signer.sign(entry))
    failures = 0
    with LedgerClient(ledger) as client:
        for result in client.submit_stream(signed):
            if isinstance(result, Rejected):
                failures += 1
                click.echo(f"rejected {result.entry_id}: {result}", err=True)
            else:
                click.echo(json.dumps(result.to_json()))
    if failures:
        raise SystemExit(1)


def _entry_objects(path: Path) -> list[dict[str, Any]]:
    """The entry objects of one ``submit`` file; a file that is not one or a list of
    them is a local file that cannot be used (exit 2), refused before anything is sent."""

    def refuse_float(text: str) -> object:
        raise CommandFailed(
            f"{path}: the number {text} must be a decimal string (quantities are strings)",
            ExitCode.USAGE,
        )

    try:
        loaded = json.loads(path.read_bytes(), parse_float=refuse_float)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CommandFailed(f"{path}: not valid JSON ({exc})", ExitCode.USAGE) from None
    objects = loaded if isinstance(loaded, list) else [loaded]
    if not all(isinstance(obj, dict) for obj in objects):
        raise CommandFailed(
            f"{path}: expected an entry object or a JSON array of them", ExitCode.USAGE
        )
    return objects


@main.command()
@ledger_option()
def checkpoint(ledger: str) -> None:
    """Print the ledger's latest signed checkpoint."""
    with LedgerClient(ledger) as client:
        click.echo(client.checkpoint().note, nl=False)


def _register_commands() -> None:
    from clients.audit_cli import audit, verify_entry, witness
    from clients.clients_cli import clients
    from clients.export_cli import export
    from clients.fsck_cli import fsck_command

    for command in (audit, witness, verify_entry, clients, export, fsck_command):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
