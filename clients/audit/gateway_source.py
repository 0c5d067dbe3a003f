"""The PACT footprints a gateway serves, fetched page by page (transport only).

Logged in through ``clients.gateway_session``; ``GET /3/footprints`` is followed
through its ``Link: rel="next"`` headers.
Nothing here judges what is served: ``clients.audit.served`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
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
