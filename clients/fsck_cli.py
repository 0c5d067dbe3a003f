"""``carbonledger fsck``: a database's derived tables and Merkle nodes against its log.

Exit status: 0 when everything is as the log gives it (or ``--repair`` made the
derived tables so); 1 when something differs (without ``--repair``), when
Merkle nodes differ or the log itself fails a check (never repaired), or when
the repair was refused; 2 when it cannot run; 3 when the database is unreachable.
"""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from clients.audit.fsck import RepairRefused, fsck
from clients.audit.model import AuditError
from clients.cli_errors import CommandFailed, ExitCode, failure_of
from clients.cli_params import STORE_URL, require_existing_store
from ledger.store.database import Database, DatabaseUnavailableError


@click.command("fsck")
@click.option("--db", "db_url", type=STORE_URL, required=True, help="The store URL to check.")
@click.option("--repair", is_flag=True, help="Rebuild derived tables that differ from the log.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--workers", type=int, default=None, help="Verifier processes (default: cores).")
def fsck_command(db_url: str, repair: bool, as_json: bool, workers: int | None) -> None:
    """Replay the log and compare every derived table and Merkle node with the database."""
    require_existing_store(db_url)
    try:
        db = Database(db_url)
        try:
            report = fsck(db, repair=repair, workers=workers)
        finally:
            db.dispose()
    except RepairRefused as exc:
        click.echo(f"REPAIR REFUSED: {exc}", err=True)
        sys.exit(ExitCode.REFUSED)
    except (DatabaseUnavailableError, SQLAlchemyError, AuditError, OSError) as exc:
        raise failure_of(exc) or CommandFailed(str(exc), ExitCode.USAGE) from None
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.to_text())
    sys.exit(0 if report.ok else 1)
