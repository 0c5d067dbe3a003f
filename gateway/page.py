"""The buyer-facing web page: ``/`` (product list and product view) and its assets.

Everything the page needs ships in ``gateway/static/`` (no CDN at run time). The page
calls the gateway's own APIs with the buyer's client credentials and verifies, in the
browser, each footprint's RFC 9162 inclusion proof against the latest signed checkpoint
(and the checkpoint's Ed25519 signature when the browser's WebCrypto supports Ed25519)
against the ledger key served by ``GET /page/config``.

Mount it with ``app.include_router(page_router())``; the ledger key is read from the
app's services (``GatewayContext.checkpointer.signer``) unless ``ledger_key`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from gateway.errors import PactError

STATIC_DIR = Path(__file__).with_name("static")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# Only same-origin scripts, styles and API calls; no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _assets() -> dict[str, Path]:
    """The files the page serves, by name: a fixed list, so no path ever reaches the disk."""
    return {
        path.name: path
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in _TYPES
    }


def _ledger_key(request: Request) -> str | None:
    services: Any = getattr(request.app.state, "services", None)
    try:
        vkey = services.context.checkpointer.signer.vkey
    except AttributeError:
        return None
    return vkey if isinstance(vkey, str) else None


def page_router(ledger_key: str | None = None) -> APIRouter:
    """``GET /`` (the page), ``GET /page/{asset}`` and ``GET /page/config``."""
    router = APIRouter(tags=["page"], include_in_schema=False)
    assets = _assets()
    if "index.html" not in assets:
        raise RuntimeError(f"the page's assets are missing from {STATIC_DIR}")

    @router.get("/")
    def index() -> Response:
        return FileResponse(
            assets["index.html"], media_type=_TYPES[".html"], headers=SECURITY_HEADERS
        )

    @router.get("/page/config")
    def config(request: Request) -> JSONResponse:
        """The ledger's note verifier key (``name+keyid+base64``), as printed by ``serve``."""
        return JSONResponse(
            {"ledgerKey": ledger_key or _ledger_key(request)}, headers={"Cache-Control": "no-cache"}
        )

    @router.get("/page/{name}")
    def asset(name: str) -> Response:
        path = assets.get(name)
        if path is None:
            raise PactError(404, "NotFound", "no such page asset")
        return FileResponse(path, media_type=_TYPES[path.suffix], headers=SECURITY_HEADERS)

    return router
