"""``carbonledger clients``: API clients of the HTTP gateway.

Registered on the ``carbonledger`` group in ``clients/cli.py`` with
``main.add_command(clients)``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select

from clients.cli_params import (
    STORE_URL,
    data_dir_option,
    existing_data_dir,
    require_existing_store,
)
from ledger.store.database import Database
from ledger.store.tables import RecordRow

_R = RecordRow.__table__  # type: ignore[attr-defined]

_DATA_DIR = data_dir_option("The ledger's data directory (gateway key, SQLite default store).")
_DB = click.option(
    "--db",
    "db_url",
    type=STORE_URL,
    help="Store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in --data-dir).",
)


@contextmanager
def _database(data_dir: Path | None, db_url: str | None) -> Iterator[Database]:
    """The ledger's existing database with the gateway's tables, disposed of afterwards."""
    from sqlmodel import SQLModel

    from gateway.tables import TABLES

    url = db_url or existing_data_dir(data_dir).default_db_url()
    require_existing_store(url)
    db = Database(url)
    try:
        assert TABLES
        SQLModel.metadata.create_all(db.write_engine)
        yield db
    finally:
        db.dispose()


def _enrolled(db: Database, org: str) -> bool:
    with db.read() as conn:
        rows = conn.execute(select(_R.c.entry).where(_R.c.entry_type == "org.enroll")).all()
    return any(json.loads(entry).get("orgId") == org for (entry,) in rows)


@click.group("clients")
def clients() -> None:
    """API clients of the HTTP gateway (OAuth2 client credentials)."""


@clients.command("add")
@click.option("--org", "org_id", required=True, help="The enrolled organisation's URN.")
@click.option(
    "--export",
    "as_exports",
    is_flag=True,
    help="Print shell export lines of CARBONLEDGER_CLIENT_ID and CARBONLEDGER_CLIENT_SECRET "
    '(for eval "$(...)"), which token, verify-entry and audit read.',
)
@_DATA_DIR
@_DB
def clients_add(org_id: str, as_exports: bool, data_dir: Path | None, db_url: str | None) -> None:
    """Create a client for ORG; print {"clientId", "clientSecret"} (shown only once)."""
    from gateway.auth import add_client
    from gateway.key_binding import ForeignGatewayKeyError, client_binding

    with _database(data_dir, db_url) as db:
        if not _enrolled(db, org_id):
            raise click.ClickException(f"{org_id} is not enrolled on this ledger")
        try:  # the client is bound to the gateway key, kept in the data directory
            binding = client_binding(db, existing_data_dir(data_dir).path)
        except ForeignGatewayKeyError as exc:
            raise click.ClickException(str(exc)) from None
        created = add_client(db, binding, org_id)
    if as_exports:
        click.echo(f"export CARBONLEDGER_CLIENT_ID={shlex.quote(created.client_id)}")
        click.echo(f"export CARBONLEDGER_CLIENT_SECRET={shlex.quote(created.client_secret)}")
        return
    click.echo(json.dumps({"clientId": created.client_id, "clientSecret": created.client_secret}))


@clients.command("list")
@click.option("--org", "org_id", help="Only the clients of this organisation.")
@_DATA_DIR
@_DB
def clients_list(org_id: str | None, data_dir: Path | None, db_url: str | None) -> None:
    """Print one JSON line per registered client (never a secret)."""
    from gateway.auth import list_clients

    with _database(data_dir, db_url) as db:
        found = list_clients(db, org_id)
    for client in found:
        created = datetime.fromtimestamp(client.created_us / 1e6, UTC)
        click.echo(
            json.dumps(
                {
                    "clientId": client.client_id,
                    "org": client.org_id,
                    "created": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
                }
            )
        )


@clients.command("revoke")
@click.argument("client_id")
@_DATA_DIR
@_DB
def clients_revoke(client_id: str, data_dir: Path | None, db_url: str | None) -> None:
    """Revoke CLIENT_ID: no new tokens at once; its tokens are refused by every gateway
    process within a second or so."""
    from gateway.auth import revoke_client

    with _database(data_dir, db_url) as db:
        revoked = revoke_client(db, client_id)
    if revoked is None:
        raise click.ClickException(f"no client {client_id!r} (see: carbonledger clients list)")
    click.echo(json.dumps({"revoked": revoked.client_id, "org": revoked.org_id}))


@clients.command("callback")
@click.option("--org", "org_id", required=True, help="The requester organisation's URN.")
@click.option("--url", "base_url", required=True, help="Its PACT API base URL.")
@click.option("--token-url", help="Its token endpoint (default: URL/auth/token).")
@click.option("--client-id", required=True, help="The client id it issued to this ledger.")
@click.option(
    "--client-secret",
    prompt=True,
    hide_input=True,
    help="The secret it issued (prompted for when not given).",
)
@_DATA_DIR
@_DB
def clients_callback(
    org_id: str,
    base_url: str,
    token_url: str | None,
    client_id: str,
    client_secret: str,
    data_dir: Path | None,
    db_url: str | None,
) -> None:
    """Register where PACT events for ORG are delivered, and the credentials to use."""
    from gateway.callback_credentials import register_callback

    keys = existing_data_dir(data_dir).path  # the gateway key that seals the secret
    with _database(data_dir, db_url) as db:
        if not _enrolled(db, org_id):
            raise click.ClickException(f"{org_id} is not enrolled on this ledger")
        register_callback(db, keys, org_id, base_url, client_id, client_secret, token_url)
    click.echo(json.dumps({"org": org_id, "eventsUrl": base_url}))
