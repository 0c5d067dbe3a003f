"""What a gateway serves, fetched for the audit (transport only): the PACT footprints,
page by page, and sites' zero-carbon evaluations.

Logged in through ``clients.gateway_session``; ``GET /3/footprints`` is followed
through its ``Link: rel="next"`` headers.
Nothing here judges what is served: ``clients.audit.served`` and
``clients.audit.zero_carbon`` do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx

from clients.gateway_session import gateway_session

PAGE = 1000


def served_footprints(
    gateway: str,
    client_id: str,
    client_secret: str,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[dict[str, Any]]:
    """Every footprint document the gateway lists for these credentials, in its order."""
    with gateway_session(
        gateway, client_id, client_secret, timeout=60.0, transport=transport
    ) as http:
        url: str | None = f"/3/footprints?limit={PAGE}"
        while url is not None:
            page = http.get(url)
            page.raise_for_status()
            body = page.json()
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise ValueError("the gateway's footprint list has no data array")
            for document in data:
                if not isinstance(document, dict):
                    raise ValueError("the gateway's footprint list holds a non-object")
                yield document
            url = page.links.get("next", {}).get("url")


class ServedEvaluations:
    """``GET /v1/sites/{site}/zero-carbon?year=Y&atSize=N`` over one logged-in session
    (opened at the first call, closed by ``close``): a ``ServedEvaluation``."""

    def __init__(
        self,
        gateway: str,
        client_id: str,
        client_secret: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._login = (gateway, client_id, client_secret, transport)
        self._stack = ExitStack()
        self._http: httpx.Client | None = None

    def __call__(self, site: str, year: int, size: int) -> dict[str, Any] | None:
        if self._http is None:
            gateway, client_id, client_secret, transport = self._login
            self._http = self._stack.enter_context(
                gateway_session(gateway, client_id, client_secret, transport=transport)
            )
        answer = self._http.get(
            f"/v1/sites/{site}/zero-carbon", params={"year": year, "atSize": size}
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        body = answer.json()
        if not isinstance(body, dict):
            raise ValueError("the gateway's site evaluation is not an object")
        return body

    def close(self) -> None:
        self._stack.close()
