"""``carbonledger org`` and ``factors``: what the operator signs, and who is enrolled.

Registered on the ``carbonledger`` group in ``clients/cli.py``. The operator's key
is ``operator.key`` in the ledger's data directory (``--data-dir`` or
``CARBONLEDGER_DATA_DIR``; ``serve`` creates it), or a file given with
``--operator-key``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from clients.cli_errors import CommandFailed, ExitCode, read_private_key
from clients.cli_params import STORE_URL, data_dir_option, existing_data_dir, ledger_option
from clients.entry_files import complete_entry, entry_objects, signing_org
from clients.sdk import LedgerClient, OrgSigner
from ledger.datadir import DEFAULT_OPERATOR_ORG
from ledger.entries.carbon import load_default_factors
from ledger.keys import encode_public_key, read_public_key_argument

ROLES = ("supplier", "buyer", "verifier", "auditor", "publisher", "operator")


def operator_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that locate the operator's key, for commands the operator signs."""
    for option in reversed(
        (
            data_dir_option("The ledger's data directory, where the operator key lives."),
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


def submit_as_operator(
    entry_type: str,
    members: dict[str, Any],
    data_dir: Path | None,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Sign one entry with the operator key and submit it; print its JSON receipt."""
    key_path = operator_key or existing_data_dir(data_dir).operator_key_path
    signer = OrgSigner(operator_org, read_private_key(key_path))
    entry = complete_entry({"type": entry_type, **members}, operator_org)
    with LedgerClient(ledger) as client:
        receipt = client.submit(signer.sign(entry))
    click.echo(json.dumps(receipt.to_json()))


@click.group()
def org() -> None:
    """Organisations on the ledger."""


@org.command("enroll")
@click.option("--org", "org_id", required=True, help="The new organisation's URN.")
@click.option("--name", required=True, help="The organisation's display name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
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
    data_dir: Path | None,
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
    submit_as_operator("org.enroll", members, data_dir, operator_key, operator_org, ledger)


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
    data_dir: Path | None,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Set the company ids an organisation declares footprints for (signed with the
    operator key); the ids it had and that are not listed are released."""
    members = {"orgId": org_id, "companyIds": list(dict.fromkeys(company_ids))}
    submit_as_operator("org.companies", members, data_dir, operator_key, operator_org, ledger)


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
    data_dir: Path | None,
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
    submit_as_operator("registry.account", members, data_dir, operator_key, operator_org, ledger)


@org.command("list")
@data_dir_option("The ledger's data directory (its SQLite default store).")
@click.option(
    "--db",
    "db_url",
    type=STORE_URL,
    help="Store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in --data-dir).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per org.")
def org_list(data_dir: Path | None, db_url: str | None, as_json: bool) -> None:
    """List the enrolled organisations with their roles and company ids, as the
    ledger's committed identity entries give them (read from its store)."""
    from clients.org_directory import enrolled_orgs

    url = db_url or existing_data_dir(data_dir).default_db_url()
    for found in enrolled_orgs(url):
        if as_json:
            click.echo(json.dumps(found.to_json()))
        else:
            click.echo(
                f"{found.org_id}  {found.name!r}  roles: {', '.join(found.roles)}  "
                f"companies: {', '.join(found.company_ids)}  (enrolled at seq {found.seq})"
            )


@click.group()
def factors() -> None:
    """Emission factor sets."""


@factors.command("publish")
@click.argument(
    "file", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option(
    "--default",
    "bundled",
    is_flag=True,
    help="Publish the bundled default set (cn-default 2024.1) instead of FILE.",
)
@operator_options
@ledger_option()
def factors_publish(
    file: Path | None,
    bundled: bool,
    data_dir: Path | None,
    operator_key: Path | None,
    operator_org: str,
    ledger: str,
) -> None:
    """Publish a factor set (a factors.publish body: setId, version, name, publisher,
    factors) signed with the operator key; footprints cite its factors by
    {setId, version, key}. A set and version is published once."""
    if (file is None) == (not bundled):
        raise click.UsageError("give a factor set FILE or --default (not both)")
    body = load_default_factors() if file is None else _factor_set_body(file, operator_org)
    submit_as_operator("factors.publish", body, data_dir, operator_key, operator_org, ledger)


def _factor_set_body(path: Path, operator_org: str) -> dict[str, Any]:
    """The one factor set in ``path`` (its ``entryId`` kept when it has one)."""
    objects = entry_objects(path)
    if len(objects) != 1:
        raise CommandFailed(f"{path}: expected one factor set object", ExitCode.USAGE)
    body = dict(objects[0])
    if body.pop("type", "factors.publish") != "factors.publish":
        raise CommandFailed(f"{path}: not a factors.publish body", ExitCode.USAGE)
    signing_org([(path, body)], operator_org)
    return body
