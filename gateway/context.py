"""What the gateway takes from a running ledger, and the per-request dependencies."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import Connection, Engine, create_engine, event

from gateway.auth import (
    DEFAULT_TOKEN_TTL,
    Caller,
    ClientBinding,
    TokenExpired,
    TokenInvalid,
    TokenIssuer,
)
from gateway.errors import PactError, access_denied
from gateway.footprints import Directory, FootprintAccess
from gateway.login_throttle import (
    DEFAULT_CONCURRENT_CHECKS,
    DEFAULT_FAILURES_PER_MINUTE,
    LoginThrottle,
    ProvenSecrets,
    SecretChecks,
)
from gateway.request_guard import MAX_BODY_BYTES
from gateway.revocation import DEFAULT_REFRESH_SECONDS, RevokedClients
from ledger.checkpointer import Checkpointer
from ledger.read import VerifiedLog
from ledger.rules.identity import IdentityState
from ledger.store.database import Database, sqlite_engine
from ledger.store.log import LogStore

if TYPE_CHECKING:
    from gateway.computed import ComputedFootprints
    from gateway.computed_served import ServedComputed
    from gateway.events import Outbox
    from ledger.read.verified_tiles import VerifiedTiles
    from ledger.server import LedgerServer


class ReadPool:
    """Read connections of the gateway, separate from the ledger's own pool.

    ``read()``: a bounded pool for handlers running on worker threads. On PostgreSQL its
    connections are autocommit (no BEGIN/ROLLBACK round trips; each query sees the latest
    commit); when it is exhausted a request waits up to ``timeout`` seconds and is then
    answered 503 (``Retry-After``), never a deadlock. On SQLite it reads through the
    ledger's engine.

    ``hot()``: one connection used only by the event loop thread for the hottest read
    (GetFootprint: a primary-key look-up or two), so that read needs no worker thread and
    can never wait for a pooled connection. ``probe()``: one connection for the thread
    that asks the log size for the event loop's reads (``gateway.log_size``). Their
    statements are capped at ``HOT_STATEMENT_TIMEOUT_MS`` so a slow database cannot
    stall the loop for long.
    """

    HOT_STATEMENT_TIMEOUT_MS = 2000

    def __init__(self, db: Database, size: int, timeout: float) -> None:
        self.db = db
        self._engine: Engine | None = None
        if not db.is_sqlite:
            self._engine = create_engine(db.url, pool_size=size, pool_timeout=timeout, **_PG)
        self._hot = _single_connection(db)
        self._probe = _single_connection(db)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        if self._engine is None:
            with self.db.read() as conn:
                yield conn
        else:
            with self._engine.connect() as conn:
                yield conn

    @contextmanager
    def hot(self) -> Iterator[Connection]:
        with self._hot.connect() as conn:
            yield conn

    @contextmanager
    def probe(self) -> Iterator[Connection]:
        with self._probe.connect() as conn:
            yield conn

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._hot.dispose()
        self._probe.dispose()


_PG: dict[str, Any] = {
    "pool_pre_ping": False,
    # No BEGIN/ROLLBACK round trips; each query sees the latest commit.
    "isolation_level": "AUTOCOMMIT",
    "max_overflow": 0,
    # An unreachable database fails fast (503) instead of hanging a request.
    "connect_args": {"connect_timeout": 3},
}


def _single_connection(db: Database) -> Engine:
    if db.is_sqlite:
        return sqlite_engine(db.url, writer=False, timeout_s=2, pool_size=1, max_overflow=0)
    engine = create_engine(db.url, pool_size=1, **_PG)
    event.listen(engine, "connect", _statement_timeout)
    return engine


def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"SET statement_timeout = {ReadPool.HOT_STATEMENT_TIMEOUT_MS}")
    cursor.close()
    dbapi_conn.commit()


@dataclass
class GatewayContext:
    """The gateway's view of a ledger: its store, database, checkpointer, identity state
    (``identity()``: the latest committed snapshot, see ``ledger.committed_identity``)
    and data directory (for the gateway key)."""

    db: Database
    store: LogStore
    checkpointer: Checkpointer
    identity: Callable[[], IdentityState]
    data_dir: Path
    token_ttl: int = DEFAULT_TOKEN_TTL
    # Callback delivery: first retry after ``retry_base`` seconds, doubling, at most
    # ``retry_max``; abandoned after ``give_up_after`` seconds (PACT: 72 hours).
    retry_base: float = 2.0
    retry_max: float = 3600.0
    give_up_after: float = 72 * 3600.0
    poll_interval: float = 1.0
    # Open asynchronous requests are re-examined this often, this many per pass.
    reexamine_interval: float = 10.0
    reexamine_batch: int = 500
    callback_timeout: float = 10.0
    callback_verify: bool | ssl.SSLContext = True
    # The gateway's own read pool (PostgreSQL): connections, and how long a request waits
    # for one before it is answered 503.
    pool_size: int = 16
    pool_timeout: float = 10.0
    # Failed client authentications allowed per minute, per client id and per address.
    login_failures_per_minute: int = DEFAULT_FAILURES_PER_MINUTE
    # Client secrets (argon2, 64 MiB each) checked at once by this process.
    concurrent_secret_checks: int = DEFAULT_CONCURRENT_CHECKS
    # Request bodies larger than this are refused with 413 (``gateway.request_guard``).
    max_body_bytes: int = MAX_BODY_BYTES
    # A revoked client's tokens are refused by this process at most this long after.
    revocation_refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    # Reads of records, checked against the signed tree (the ledger server's own when the
    # gateway runs in its process: one cache, one integrity state).
    verified: VerifiedLog | None = None
    # How pushing checkpoints to each witness goes (``/healthz``; ``LedgerServer``).
    witness_status: Callable[[], list[dict[str, object]]] = list
    reads: ReadPool = field(init=False)

    def __post_init__(self) -> None:
        self.reads = ReadPool(self.db, self.pool_size, self.pool_timeout)
        if self.verified is None:
            self.verified = VerifiedLog(self.store, self.checkpointer)

    @property
    def records(self) -> VerifiedLog:
        """The verified reads (set by ``__post_init__``)."""
        assert self.verified is not None
        return self.verified

    @classmethod
    def from_server(cls, server: LedgerServer, **options: object) -> GatewayContext:
        return cls(
            db=server.db,
            store=server.store,
            checkpointer=server.checkpointer,
            identity=server.identity.current,
            data_dir=server.data_dir.path,
            verified=server.verified,
            witness_status=lambda: [status.to_json() for status in server.witness_status()],
            **options,  # type: ignore[arg-type]
        )


@dataclass
class Services:
    context: GatewayContext
    tokens: TokenIssuer
    client_binding: ClientBinding
    directory: Directory
    footprints: FootprintAccess
    outbox: Outbox
    computed: ComputedFootprints
    served_computed: ServedComputed
    logins: LoginThrottle
    secret_checks: SecretChecks
    proven_secrets: ProvenSecrets
    revoked: RevokedClients
    tiles: VerifiedTiles


oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/auth/token")),
    scheme_name="BearerAuth",
    description="OAuth2 client credentials (RFC 6749 §4.4); tokens from POST /auth/token",
    auto_error=False,
)


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def caller(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    authorization: Annotated[str | None, Depends(oauth2)],
) -> Caller:
    """The authenticated caller (an API client acting for its org). Async: it checks a
    signature and looks up roles and revocations in memory (the revocations re-read
    about once a second on the loop's own connection), so it needs no worker thread."""
    if not authorization:
        raise access_denied("an access token is required (Authorization: Bearer …)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise access_denied("the Authorization header must be a Bearer token")
    try:
        client_id, org = svc.tokens.verify(token.strip())
    except TokenExpired:
        raise PactError(
            401,
            "TokenExpired",
            "the access token has expired; request a new one",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    except TokenInvalid:
        # PACT (and its conformance suite): a malformed or invalid token is a bad request;
        # 403 is for a caller without a token or one who may not act.
        raise PactError(
            400,
            "BadRequest",
            "the access token is malformed or invalid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    if client_id in svc.revoked:
        raise access_denied("the client was revoked; its access tokens are no longer accepted")
    roles = svc.directory.roles_of(org)
    if roles is None:
        raise access_denied("the client's organisation is not enrolled")
    return Caller(client_id, org, roles)


CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
