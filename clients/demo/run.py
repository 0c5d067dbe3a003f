"""``carbonledger demo``: a fresh ledger and gateway with the battery chain loaded.

Without ``--data-dir`` the demo lives in a new temporary directory, which is kept
after a normal stop (the walkthrough names it) and removed if the demo fails or is
stopped before its walkthrough is printed: it holds private keys, and a demo that
never told where they are leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from clients.demo.identities import BY_KEY
from clients.demo.load import DEFAULT_SEED, load_demo
from clients.demo.sites import programme_lines
from clients.demo.walkthrough import demo_figures, walkthrough
from clients.sdk import OrgSigner
from clients.serving import ledger_and_gateway
from gateway.auth import add_client
from gateway.key_binding import client_binding
from graph.ledger_adapter import ENGINE_ENTRY_TYPES, ActiveFootprints
from ledger.entries import parse_entry
from ledger.server import ServerConfig
from ledger.zero_carbon.store import store_reader


def run_demo(
    data_dir: Path | None,
    grpc_address: str,
    http_address: str,
    *,
    seed: int = DEFAULT_SEED,
    stop: threading.Event,
    echo: Callable[[str], None] = print,
) -> None:
    """Start, load, print the walkthrough, and serve until ``stop`` is set."""
    if data_dir is not None:
        _run(data_dir, grpc_address, http_address, seed, stop, echo)
        return
    directory = Path(tempfile.mkdtemp(prefix="carbonledger-demo-"))
    shown = False
    try:
        shown = _run(directory, grpc_address, http_address, seed, stop, echo)
    finally:
        if not shown:
            shutil.rmtree(directory, ignore_errors=True)


def _run(
    directory: Path,
    grpc_address: str,
    http_address: str,
    seed: int,
    stop: threading.Event,
    echo: Callable[[str], None],
) -> bool:
    """Serve the demo from ``directory`` until ``stop``; False if it was stopped while
    loading, before the walkthrough (which names the directory) was printed."""
    config = ServerConfig(data_dir=directory, grpc_address=grpc_address)
    with ledger_and_gateway(config, http_address) as (server, http):
        operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
        loaded = load_demo(server.grpc_target, operator, directory / "demo-keys", seed=seed)
        binding = client_binding(server.db, server.data_dir.path)
        credentials = add_client(server.db, binding, BY_KEY["buyer"].org_id)
        (directory / "demo-buyer-client.json").write_text(
            json.dumps(
                {"clientId": credentials.client_id, "clientSecret": credentials.client_secret}
            )
        )
        active = ActiveFootprints()
        for record in server.store.records(0, server.store.tree_size()):
            if record.entry_type in ENGINE_ENTRY_TYPES:
                active.apply(parse_entry(json.loads(record.entry)), record.timestamp_us)
        figures = demo_figures(loaded, active.engine())
        with server.store.db.read() as conn:
            programme = programme_lines(store_reader(conn))
        if stop.is_set():
            return False
        echo(f"data directory: {directory}")
        echo(
            walkthrough(
                figures,
                grpc=server.grpc_target,
                http=http.url,
                vkey=server.vkey,
                auditor_key=str(loaded.key_files["auditor"]),
                auditor_org=BY_KEY["auditor"].org_id,
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                programme=programme,
            )
        )
        stop.wait()
    return True
