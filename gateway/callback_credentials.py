"""Where and how PACT events are delivered to a requester: its events URL, token URL and
client credentials, registered by the operator (``carbonledger clients callback``).

The client secret is the requester's, not ours: it is kept sealed with AES-GCM under a
subkey of the gateway key (``gateway.key``), bound to the org it belongs to, so a row
copied to another org or read from a database dump opens nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select

from gateway.auth import gateway_key, subkey
from gateway.tables import CallbackCredentialRow
from ledger.store.database import Database

_CC = CallbackCredentialRow.__table__  # type: ignore[attr-defined]


def _box_key(data_dir: Path) -> bytes:
    return subkey(gateway_key(data_dir), "carbonledger callback credentials")


def register_callback(
    db: Database,
    data_dir: Path,
    org_id: str,
    base_url: str,
    client_id: str,
    client_secret: str,
    token_url: str | None = None,
) -> None:
    """Register (or replace) where and how events are delivered to ``org_id``."""
    nonce = os.urandom(12)
    box = AESGCM(_box_key(data_dir)).encrypt(nonce, client_secret.encode(), org_id.encode())
    row = {
        "org_id": org_id,
        "events_url": base_url.rstrip("/"),
        "token_url": token_url or base_url.rstrip("/") + "/auth/token",
        "client_id": client_id,
        "secret_nonce": nonce,
        "secret_box": box,
    }
    with db.write_engine.begin() as conn:
        conn.execute(_CC.delete().where(_CC.c.org_id == org_id))
        conn.execute(insert(_CC).values(**row))


def has_callback(conn: Connection, org_id: str) -> bool:
    return conn.execute(select(_CC.c.org_id).where(_CC.c.org_id == org_id)).first() is not None


def callback_secret(data_dir: Path, creds: Any) -> str:
    """The client secret of a ``gw_callback_credential`` row ``creds``; raises
    ``cryptography.exceptions.InvalidTag`` if the row was sealed for another org or key."""
    secret: bytes = AESGCM(_box_key(data_dir)).decrypt(
        creds.secret_nonce, creds.secret_box, creds.org_id.encode()
    )
    return secret.decode()
