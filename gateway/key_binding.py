"""One ``gateway.key`` per database: every gateway process must accept the others' tokens.

Tokens are HS256 JWTs under the data directory's ``gateway.key``. A process started with
another key (a data directory that was not copied) would silently refuse every token the
others issue, and its own tokens everywhere else. So the first process records an id of
its key in the database and every later one compares its own with it in constant time,
refusing to start on a mismatch with the file to copy named.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from sqlalchemy import insert, select

from gateway.auth import KEY_FILE, ClientBinding, gateway_key, subkey
from gateway.tables import GatewayKeyRow
from ledger.store.database import Database

_GK = GatewayKeyRow.__table__  # type: ignore[attr-defined]
_LABEL = "carbonledger gateway key id"


class ForeignGatewayKeyError(RuntimeError):
    """This process's ``gateway.key`` is not the one the database's tokens are signed with."""


def check_gateway_key(db: Database, key: bytes, path: Path) -> None:
    """Record the id of ``key`` (read from ``path``) if the database has none yet; raise
    ``ForeignGatewayKeyError`` if it holds another key's id."""
    mine = subkey(key, _LABEL)
    with db.write() as conn:  # under the sequencer lock: two first processes cannot race
        recorded: bytes | None = conn.execute(select(_GK.c.key_id).where(_GK.c.slot == 1)).scalar()
        if recorded is None:
            conn.execute(insert(_GK).values(slot=1, key_id=mine))
            return
    if not hmac.compare_digest(bytes(recorded), mine):
        raise ForeignGatewayKeyError(
            f"{path} is not the gateway key this database's tokens are signed with: "
            "every gateway process on one database needs the same key; copy gateway.key "
            f"from the data directory of the process that started it to {path}"
        )


def client_binding(db: Database, data_dir: Path) -> ClientBinding:
    """The binding of API clients under ``data_dir``'s gateway key, once that key is
    checked to be the database's (``ForeignGatewayKeyError`` otherwise): what
    ``carbonledger clients add`` and the demo bind new clients with."""
    key = gateway_key(data_dir)
    check_gateway_key(db, key, data_dir / KEY_FILE)
    return ClientBinding(key)
