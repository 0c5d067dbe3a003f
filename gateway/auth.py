"""OAuth2 client credentials (RFC 6749 §4.4): API clients, their secrets, tokens.

* A client belongs to an enrolled org and acts with that org's roles.
* The secret is shown once; only its argon2id hash (salted, slow) is stored, and
  verification is argon2's constant-time comparison.
* A client's row is bound to the gateway key (an HMAC of its id, org and secret hash,
  ``ClientBinding``): the rows live in the database, and an insider who can write them
  must not be able to re-point a buyer's client to an auditor org, or add a client for
  any org. A row without a valid binding authenticates nothing.
* Tokens are stateless HS256 JWTs signed with a key from the data directory
  (``gateway.key``), so every gateway process sharing the data directory keys
  accepts them; they expire (default one hour).
* Revoking a client deletes it (no new tokens) and records its id, so every
  gateway process refuses the tokens it already holds (``gateway.revocation``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select

from gateway.tables import ApiClientBindingRow, ApiClientRow, RevokedClientRow
from ledger.read import access
from ledger.store.database import Database

_AC = ApiClientRow.__table__  # type: ignore[attr-defined]
_CB = ApiClientBindingRow.__table__  # type: ignore[attr-defined]
_RC = RevokedClientRow.__table__  # type: ignore[attr-defined]
KEY_FILE = "gateway.key"
TOKEN_ALGORITHM = "HS256"  # noqa: S105 (an algorithm name)
DEFAULT_TOKEN_TTL = 3600
_HASHER = PasswordHasher()
log = logging.getLogger(__name__)


@cache
def _dummy_hash() -> str:
    """A well-formed hash to verify against when the client id is unknown, so an unknown
    client costs the same time as a wrong secret."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def prepare_unknown_client_check() -> None:
    """Make the hash unknown clients are checked against now, as a gateway starts: not at
    import, where hashing (about 0.2 s) delayed every process that imports this module,
    and not on the first unknown client, whose answer it delayed (red team, 2026-12-07:
    the first unknown id after a restart took twice as long as a known one's wrong
    secret, telling the two apart)."""
    _dummy_hash()


def gateway_key(data_dir: Path) -> bytes:
    """The gateway's 32-byte secret (created once, mode 0600)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} must hold 32 bytes")
    return key


def subkey(key: bytes, label: str) -> bytes:
    return hmac.new(key, label.encode(), hashlib.sha256).digest()


class ClientBinding:
    """Binds a client's id, org and secret hash to the gateway key (``gateway.key``, in
    the data directory, not the database)."""

    def __init__(self, key: bytes) -> None:
        self._key = subkey(key, "carbonledger api client binding")

    def mac(self, client_id: str, org_id: str, secret_hash: str) -> bytes:
        fields = json.dumps([client_id, org_id, secret_hash]).encode()
        return hmac.new(self._key, fields, hashlib.sha256).digest()

    def holds(self, client_id: str, org_id: str, secret_hash: str, mac: bytes | None) -> bool:
        """Whether ``mac`` binds these (constant time); False for a row with none."""
        if mac is None:
            log.warning("API client %s has no binding to the gateway key: refused", client_id)
            return False
        if hmac.compare_digest(bytes(mac), self.mac(client_id, org_id, secret_hash)):
            return True
        log.warning("API client %s: its row does not match its binding: refused", client_id)
        return False


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str


def add_client(db: Database, binding: ClientBinding, org_id: str) -> NewClient:
    """Register an API client for ``org_id``; the secret is returned here only."""
    client = NewClient(str(uuid.uuid4()), secrets.token_urlsafe(32))
    secret_hash = _HASHER.hash(client.client_secret)
    with db.write_engine.begin() as conn:
        conn.execute(
            insert(_AC).values(
                client_id=client.client_id,
                org_id=org_id,
                secret_hash=secret_hash,
                created_us=time.time_ns() // 1000,
            )
        )
        conn.execute(
            insert(_CB).values(
                client_id=client.client_id,
                mac=binding.mac(client.client_id, org_id, secret_hash),
            )
        )
    return client


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    org_id: str
    created_us: int


def list_clients(db: Database, org_id: str | None = None) -> list[ClientInfo]:
    """The registered (not revoked) clients, oldest first; of one org if given."""
    query = select(_AC.c.client_id, _AC.c.org_id, _AC.c.created_us).order_by(
        _AC.c.created_us, _AC.c.client_id
    )
    if org_id is not None:
        query = query.where(_AC.c.org_id == org_id)
    with db.read() as conn:
        return [ClientInfo(*row) for row in conn.execute(query)]


def revoke_client(db: Database, client_id: str) -> ClientInfo | None:
    """Revoke a client: it gets no new tokens, and its tokens stop working in every
    gateway process (see ``gateway.revocation``). None if there is no such client."""
    with db.write_engine.begin() as conn:
        row = conn.execute(
            delete(_AC)
            .where(_AC.c.client_id == client_id)
            .returning(_AC.c.client_id, _AC.c.org_id, _AC.c.created_us)
        ).first()
        if row is None:
            return None
        conn.execute(delete(_CB).where(_CB.c.client_id == client_id))
        conn.execute(
            insert(_RC).values(
                client_id=row.client_id, org_id=row.org_id, revoked_us=time.time_ns() // 1000
            )
        )
    return ClientInfo(*row)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Client id and secret from an ``Authorization: Basic`` header (RFC 6749 §2.3.1)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        # ValueError covers binascii.Error, undecodable UTF-8, and a header value that
        # is not ASCII at all (base64 of str takes ASCII only).
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote(client_id), unquote(secret)


@dataclass(frozen=True)
class Authenticated:
    org: str
    secret_hash: str  # the stored argon2 hash the secret was checked against


def _client_row(db: Database, client_id: str) -> Any:
    """The client's (org, secret hash, binding mac) row, or None."""
    with db.read() as conn:
        return conn.execute(
            select(_AC.c.org_id, _AC.c.secret_hash, _CB.c.mac)
            .select_from(_AC.outerjoin(_CB, _CB.c.client_id == _AC.c.client_id))
            .where(_AC.c.client_id == client_id[:64])
        ).first()


def authenticate_client(
    db: Database, binding: ClientBinding, client_id: str, secret: str
) -> Authenticated | None:
    """The client's org if ``secret`` is its secret and its row is bound, else None
    (constant-time: an unknown client costs an argon2 check too)."""
    row = _client_row(db, client_id)
    stored = row.secret_hash if row else _dummy_hash()
    try:
        _HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not binding.holds(client_id, row.org_id, stored, row.mac):
        return None
    return Authenticated(str(row.org_id), str(stored))


def client_org(
    db: Database, binding: ClientBinding, client_id: str, secret_hash: str
) -> str | None:
    """The org of a client that is still registered, and bound, with this secret hash
    (not revoked, secret unchanged, row not edited); None otherwise."""
    row = _client_row(db, client_id)
    if row is None or not hmac.compare_digest(row.secret_hash.encode(), secret_hash.encode()):
        return None
    if not binding.holds(client_id, row.org_id, row.secret_hash, row.mac):
        return None
    return str(row.org_id)


@dataclass(frozen=True)
class Caller:
    client_id: str
    org: str
    roles: frozenset[str]

    @property
    def reader(self) -> access.Caller:
        """The caller as the ledger's access policy knows it (its org and roles)."""
        return access.Caller(self.org, self.roles)


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


class TokenIssuer:
    def __init__(self, key: bytes, ttl: int = DEFAULT_TOKEN_TTL) -> None:
        self._key = subkey(key, "carbonledger gateway access token")
        self.ttl = ttl
        # Verified tokens (token -> client id, org, expiry); bounded. A token is only ever
        # accepted here after its signature verified, and never past its expiry.
        self._verified: dict[str, tuple[str, str, int]] = {}

    def issue(self, client_id: str, org: str) -> str:
        now = int(time.time())
        claims = {
            "sub": client_id,
            "org": org,
            "iat": now,
            "exp": now + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM)

    def verify(self, token: str) -> tuple[str, str]:
        """(client id, org) of a valid token."""
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit[2]:
                return hit[0], hit[1]
            raise TokenExpired
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[TOKEN_ALGORITHM],
                options={"require": ["sub", "org", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired from None
        except (jwt.PyJWTError, OverflowError):  # PyJWT turns a huge exp or iat into a float
            raise TokenInvalid from None
        sub, org, exp = claims.get("sub"), claims.get("org"), claims.get("exp")
        if not isinstance(sub, str) or not isinstance(org, str) or not isinstance(exp, int):
            raise TokenInvalid
        if exp >= 2**63:  # no NumericDate this gateway issues is beyond 64 bits
            raise TokenInvalid
        if len(self._verified) >= 10000:
            self._verified.clear()
        self._verified[token] = (sub, org, exp)
        return sub, org
