"""Cold start: how long a restarted ``serve`` process takes to answer its first computed
footprint, on a database that already holds a realistic log.

For each size, the mix of ``bench/ingest_growth.py`` (80 % footprints citing earlier
footprints and a factor, grants, activity batches) is recorded through a ledger that
is then stopped. A fresh Python process then starts the ledger and gateway as
``carbonledger serve`` does and asks ``GET /v1/footprints/{id}/computed`` for a
footprint of the last tenth; the time is from the process's launch to the answer
(imports included). The first start after recording builds the footprint engine from the
verified log (the engine's cold start through the ledger's own reads) and saves the
engine's snapshot; a second fresh process, a restart, starts from that snapshot
(``gateway.engine_snapshot``) and takes in nothing more. Both are printed.

Usage: python bench/cold_start.py [--sizes 10000,100000] [--db URL]
The last line is the headline for the largest size:
``cold start: <seconds> s to the first computed footprint (<n> entries, <f> footprints;
<seconds> s with no snapshot)``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest_growth import SUPPLIERS, record_mix
from scratch_db import scratch_store

from gateway.auth import TokenIssuer, add_client, gateway_key
from gateway.key_binding import client_binding
from ledger.server import LedgerServer, ServerConfig

READER = SUPPLIERS[0]  # a supplier sees its own footprints' computed results in detail


def _populate(data_dir: Path, db_url: str, entries: int) -> tuple[str, str, int, int]:
    """Record the mix; (token of the reader, a footprint of its last tenth, log size,
    footprints recorded)."""
    server = LedgerServer(
        ServerConfig(data_dir=data_dir, db_url=db_url, grpc_address="127.0.0.1:0")
    )
    server.start()
    try:
        _, refused, plan = record_mix(server, entries, seed=7)
        assert not refused, refused[:3]
        add_client(server.db, client_binding(server.db, data_dir), READER)
        size = server.store.tree_size()
    finally:
        server.stop()
    token = TokenIssuer(gateway_key(data_dir)).issue("bench", READER)
    footprints = [e for tenth in plan for _, e in tenth if e["type"] == "footprint"]
    last = next(e for e in reversed(footprints) if e["org"] == READER)
    return token, last["footprint"]["id"], size, len(footprints)


def _first_answer(launched: str, data_dir: str, db_url: str, token: str, footprint_id: str) -> None:
    """In the fresh process: start as ``serve`` does, ask once, print when it was serving
    and when it had the answer, in seconds since ``launched`` (the parent's wall clock
    before it started this process; the process's exit, which frees the engine, is not
    counted)."""
    import httpx

    from gateway.app import create_app
    from gateway.context import GatewayContext
    from gateway.server import HttpServer

    server = LedgerServer(
        ServerConfig(data_dir=Path(data_dir), db_url=db_url, grpc_address="127.0.0.1:0")
    )
    server.start()
    http = HttpServer(create_app(GatewayContext.from_server(server)), "127.0.0.1", 0)
    http.start()
    serving = time.time() - float(launched)
    try:
        answer = httpx.get(
            f"{http.url}/v1/footprints/{footprint_id}/computed",
            headers={"Authorization": f"Bearer {token}"},
            timeout=3600,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["footprintId"] == footprint_id
        print(f"{serving:.3f} {time.time() - float(launched):.3f}")
    finally:
        http.stop()
        server.stop()


def _launch(answer: list[str]) -> tuple[float, float]:
    """(seconds to serving, seconds to the first computed answer) of a fresh process."""
    launched = str(time.time())
    child = subprocess.run(
        [sys.executable, __file__, "--first-answer", launched, *answer],
        capture_output=True,
        text=True,
        check=True,
    )
    serving, total = map(float, child.stdout.strip().splitlines()[-1].split())
    return serving, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", help="store URL (default: SQLite in a temporary directory)")
    parser.add_argument("--first-answer", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_answer:
        _first_answer(*args.first_answer)
        return
    print(f"cold start bench: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    headline = ""
    for entries in (int(s) for s in args.sizes.split(",")):
        with (
            tempfile.TemporaryDirectory() as tmp,
            scratch_store(args.db, Path(tmp)) as (db_url, store_name),
        ):
            token, footprint_id, size, footprints = _populate(Path(tmp), db_url, entries)
            answer = [tmp, db_url, token, footprint_id]
            # the first start builds the engine from the log and saves its snapshot; the
            # second, a restart, starts from that snapshot
            from_log = _launch(answer)
            from_snapshot = _launch(answer)
        for name, (serving, total) in (
            ("no snapshot, engine built from the log", from_log),
            ("restarted from the engine snapshot", from_snapshot),
        ):
            print(
                f"{store_name}, log of {size:,} entries ({footprints:,} footprints), {name}: "
                f"cold start {total:.1f} s (launch to serving {serving:.1f} s, then the "
                f"first computed answer {total - serving:.1f} s)"
            )
        headline = (
            f"cold start: {from_snapshot[1]:.1f} s to the first computed footprint "
            f"({size:,} entries, {footprints:,} footprints; {from_log[1]:.1f} s with no "
            "snapshot)"
        )
    print(headline)


if __name__ == "__main__":
    main()
