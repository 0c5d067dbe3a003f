"""The OpenAPI document and its interactive pages (Swagger UI, ReDoc), served as
ordinary routes of the app so the rules every route follows (``gateway.request_guard``:
no control character in the address, one value per single-valued parameter) hold for
them too. FastAPI's own versions of these routes bypass the app's dependencies (red
team, 2026-12-06: ``/docs?x=%00`` was 200 where every other route answers 400)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"


def install_api_docs(app: FastAPI) -> None:
    """Serve ``OPENAPI_URL``, ``DOCS_URL`` and ``REDOC_URL`` on ``app``, which must be
    created with ``openapi_url=None, docs_url=None, redoc_url=None``."""

    @app.get(OPENAPI_URL, include_in_schema=False)
    def openapi() -> JSONResponse:
        schema: dict[str, Any] = app.openapi()
        return JSONResponse(schema)

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} - ReDoc")
