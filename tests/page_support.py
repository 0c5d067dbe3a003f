"""Helpers for the buyer page test: a ledger with the demo battery chain and its gateway
(with the page router) on loopback, and the buyer's API client. (No tests here.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from clients.demo.identities import BY_KEY
from clients.demo.load import LoadedDemo, load_demo
from gateway.app import create_app
from gateway.auth import add_client
from gateway.context import GatewayContext
from gateway.key_binding import client_binding
from gateway.page import page_router
from gateway.server import HttpServer
from ledger.server import LedgerServer
from ledger.store.database import sqlite_url
from tests.ledger_fixtures import operator_of, running_server

BUYER = BY_KEY["buyer"].org_id


@dataclass
class DemoSite:
    server: LedgerServer
    http: HttpServer
    demo: LoadedDemo
    client_id: str
    client_secret: str

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def pack_id(self) -> str:
        return self.demo.chain.footprint_ids["lfp-pack"]


def with_page(app: FastAPI) -> FastAPI:
    """The app with the page router, unless ``create_app`` already mounts it."""
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        app.include_router(page_router())
    return app


@contextmanager
def demo_site(tmp_path: Path, witnesses: tuple[str, ...] = ()) -> Iterator[DemoSite]:
    """The demo chain in a fresh ledger (trusting the cosigners ``witnesses``), its
    gateway serving the page, a buyer client."""
    with running_server(tmp_path / "data", sqlite_url(tmp_path), witnesses=witnesses) as server:
        demo = load_demo(server.grpc_target, operator_of(server), tmp_path / "keys")
        server.checkpointer.refresh()
        app = with_page(create_app(GatewayContext.from_server(server)))
        http = HttpServer(app, "127.0.0.1", 0)
        http.start()
        try:
            client = add_client(server.db, client_binding(server.db, server.data_dir.path), BUYER)
            yield DemoSite(server, http, demo, client.client_id, client.client_secret)
        finally:
            http.stop()
