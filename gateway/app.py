"""The HTTP gateway application: OAuth2 token endpoint, PACT v2.3 and v3.0 APIs,
the native ``/v1`` API, and PACT error bodies for every failure.

``create_app(context)`` builds the app from a ``GatewayContext`` (see
``GatewayContext.from_server``). Nothing that must survive a restart or be
shared between gateway processes lives in process memory: clients, requests
and callbacks are database rows, tokens are JWTs signed with the data
directory's ``gateway.key``.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import SQLModel

from gateway import (
    computed_api,
    errors,
    events,
    events_api,
    exports_api,
    native,
    pact_api,
    progress_api,
    tlog_api,
    zero_carbon_api,
)
from gateway.api_docs import install_api_docs
from gateway.auth import (
    KEY_FILE,
    authenticate_client,
    client_org,
    gateway_key,
    parse_basic,
    prepare_unknown_client_check,
)
from gateway.computed import ComputedFootprints
from gateway.computed_served import ServedComputed
from gateway.context import GatewayContext, Services, ServicesDep
from gateway.engine_snapshot import SNAPSHOT_FILE, EngineSnapshots
from gateway.errors import ErrorBody, OAuthError, OAuthErrorBody
from gateway.footprints import Directory, FootprintAccess
from gateway.key_binding import check_gateway_key
from gateway.login_throttle import ChecksBusy, LoginThrottle, ProvenSecrets, SecretChecks
from gateway.page import page_router
from gateway.request_guard import BodyLimit, refuse_bad_parameters
from gateway.revocation import RevokedClients
from gateway.tables import TABLES
from ledger.read.verified_tiles import VerifiedTiles


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class OpenIdConfiguration(BaseModel):
    issuer: str
    token_endpoint: str
    token_endpoint_auth_methods_supported: list[str]
    grant_types_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    jwks_uri: str | None = None


def create_app(context: GatewayContext) -> FastAPI:
    """The gateway over a running ledger (``GatewayContext.from_server(server)``)."""
    assert TABLES  # the gateway's tables are registered with SQLModel's metadata
    SQLModel.metadata.create_all(context.db.write_engine)
    from gateway.auth import ClientBinding, TokenIssuer

    token_key = gateway_key(context.data_dir)
    check_gateway_key(context.db, token_key, context.data_dir / KEY_FILE)
    prepare_unknown_client_check()
    directory = Directory(context.identity)
    footprints = FootprintAccess(
        context.reads, context.records, context.reads.hot, context.reads.probe
    )
    snapshots = EngineSnapshots(context.data_dir / SNAPSHOT_FILE, token_key)
    computed = ComputedFootprints(context.reads, context.records, footprints, snapshots)
    svc = Services(
        context=context,
        tokens=TokenIssuer(token_key, context.token_ttl),
        client_binding=ClientBinding(token_key),
        directory=directory,
        footprints=footprints,
        outbox=events.Outbox(context, footprints, directory),
        computed=computed,
        served_computed=ServedComputed(computed, footprints, computed_api.render_computed),
        logins=LoginThrottle(context.login_failures_per_minute),
        secret_checks=SecretChecks(context.concurrent_secret_checks),
        proven_secrets=ProvenSecrets(),
        revoked=RevokedClients(
            context.reads.hot, context.token_ttl, context.revocation_refresh_seconds
        ),
        tiles=VerifiedTiles(context.records),
    )
    app = FastAPI(
        title="carbonledger gateway",
        version="0.2.0",
        description="PACT v2.3 and v3.0 data exchange over a verifiable carbon ledger.",
        dependencies=[Depends(refuse_bad_parameters)],
        # One address per resource: a trailing slash is 404, not a redirect built from
        # the request's Host header that echoes its query.
        redirect_slashes=False,
        openapi_url=None,  # served by ``install_api_docs``, under the app's rules
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = svc
    install_api_docs(app)
    errors.install(app, context.records.monitor)
    app.add_middleware(BodyLimit, max_body_bytes=context.max_body_bytes)

    @app.exception_handler(PoolTimeoutError)
    async def _busy(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"code": "InternalError", "message": "the service is busy; retry"},
            503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"code": "InternalError", "message": "the database is unavailable; retry"},
            503,
            headers={"Retry-After": "1"},
        )

    @app.post(
        errors.TOKEN_PATH,
        tags=["auth"],
        summary="OAuth2 client credentials grant (RFC 6749 §4.4)",
        response_model=TokenOut,
        responses={
            400: {"model": OAuthErrorBody},
            401: {"model": OAuthErrorBody},
            413: {"model": ErrorBody, "description": "the request body is too large"},
            429: {"model": OAuthErrorBody, "description": "too many failed authentications"},
            503: {"model": OAuthErrorBody, "description": "too many logins being checked"},
        },
    )
    async def token(
        request: Request,
        svc: ServicesDep,
        grant_type: Annotated[str | None, Form()] = None,
        scope: Annotated[str | None, Form()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Authenticate with HTTP Basic (client id and secret); get a Bearer token.
        The attempt is counted before the secret is checked, and the check (argon2)
        runs on a worker thread, at most a few at once (``gateway.login_throttle``)."""
        if grant_type is None:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        credentials = parse_basic(authorization)
        if credentials is None:
            raise OAuthError(401, "invalid_client", "HTTP Basic client authentication required")
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        client_id, secret = credentials
        org = await _proven_login(svc, client_id, secret)
        if org is None:
            address = request.client.host if request.client else "unknown"
            org = await _checked_login(svc, client_id, secret, address)
        access = svc.tokens.issue(client_id, org)
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "expires_in": svc.tokens.ttl},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @app.get(
        "/.well-known/openid-configuration",
        tags=["auth"],
        response_model=OpenIdConfiguration,
        summary="OpenID Provider metadata announcing the token endpoint",
    )
    def openid(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "issuer": base,
            "token_endpoint": f"{base}/auth/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        }

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """200 while every record this process read verified; 503 once one did not. With
        witnesses to push to, also how that goes (a witness failing is not the gateway's
        ill health: it is told, not counted)."""
        monitor = context.records.monitor
        failed = monitor.failed_seqs()
        witnesses = {"witnesses": found} if (found := context.witness_status()) else {}
        if monitor.failing:
            columns = monitor.failed_indexes()
            indexes = {"failedIndexes": columns} if columns else {}
            return JSONResponse(
                {
                    "status": "integrity check failed",
                    "failedSeqs": failed[:100],
                    **indexes,
                    **witnesses,
                },
                503,
            )
        return JSONResponse({"status": "ok", **witnesses})

    app.include_router(pact_api.router)
    app.include_router(events_api.router)
    app.include_router(native.router)
    app.include_router(tlog_api.router)
    app.include_router(computed_api.router)
    app.include_router(progress_api.router)
    app.include_router(zero_carbon_api.router)
    app.include_router(exports_api.router)
    app.include_router(page_router())
    return app


def services_of(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


async def _proven_login(svc: Services, client_id: str, secret: str) -> str | None:
    """The org of a client whose secret this process has already checked, if it
    is still registered with it: no argon2, no slot, no throttle."""
    proven = svc.proven_secrets.recall(client_id, secret)
    if proven is None:
        return None
    org = await anyio.to_thread.run_sync(
        client_org, svc.context.db, svc.client_binding, client_id, proven
    )
    if org is None:  # revoked, or its secret replaced
        svc.proven_secrets.forget(client_id)
    return org


async def _checked_login(svc: Services, client_id: str, secret: str, address: str) -> str:
    """Check the secret with argon2, counted against ``address`` before it runs."""
    wait = svc.logins.reserve(address)
    if wait is not None:
        raise OAuthError(
            429,
            "temporarily_unavailable",
            f"too many failed authentications from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    checked, found = False, None
    try:
        found = await svc.secret_checks.run(
            authenticate_client, svc.context.db, svc.client_binding, client_id, secret
        )
        checked = True
    except ChecksBusy:
        raise OAuthError(
            503,
            "temporarily_unavailable",
            "too many client authentications are being checked; retry",
            headers={"Retry-After": "1"},
        ) from None
    finally:
        svc.logins.settle(address, failed=checked and found is None)
    if found is None:
        raise OAuthError(401, "invalid_client", "unknown client or wrong secret")
    svc.proven_secrets.remember(client_id, secret, found.secret_hash)
    return found.org
