"""The HTTP gateway application.

For now it publishes what is public: the latest signed checkpoint and
liveness. The PACT API and native queries build on this app.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from ledger.checkpointer import Checkpointer


def create_app(checkpointer: Checkpointer) -> FastAPI:
    app = FastAPI(title="carbonledger gateway", version="0.1.0")

    @app.get("/v1/checkpoint", response_class=PlainTextResponse, tags=["ledger"])
    def checkpoint() -> str:
        """The latest signed checkpoint (C2SP tlog-checkpoint, signed-note form)."""
        return checkpointer.latest().note

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
