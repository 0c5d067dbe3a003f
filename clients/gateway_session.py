"""A gateway client that is logged in: the transport the auditor and ``verify-entry`` share.

OAuth2 client credentials (RFC 6749 §4.4, HTTP Basic) give a bearer token, which every
later request of the session carries. Nothing here judges what the gateway serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def gateway_session(
    gateway: str,
    client_id: str,
    client_secret: str,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for ``gateway`` whose requests carry the client's bearer token
    (``httpx.HTTPStatusError`` if the gateway refuses the credentials)."""
    with httpx.Client(base_url=gateway.rstrip("/"), timeout=timeout, transport=transport) as http:
        token = http.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
        )
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http
