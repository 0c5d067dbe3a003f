"""Gateway benchmark: requests/s and p50/p99 latency of ``GET /3/footprints/{id}`` and
``GET /v1/footprints/{id}/computed`` under concurrent keep-alive load on loopback, each
without appends and then under a trickle of appends touching the footprints read
(``bench/trickle.py``, ``--appends-per-second``), then the footprint read with the
gateway's database pool shrunk to two connections (it must queue, not deadlock or fail).

The ledger and gateway run in this process exactly as ``carbonledger serve`` runs
them; the load generator (raw HTTP/1.1 over asyncio, one connection per simulated
client) runs in a separate process so both share the machine's cores as they would
in production. The caller is a buyer with product-line grants, so every read goes
through the grant check.

Usage: python bench/gateway.py [--db URL] [--connections 32] [--seconds 10]
                               [--footprints 200] [--appends-per-second 20]
Default store: $CARBONLEDGER_BENCH_POSTGRES_URL, else $CARBONLEDGER_TEST_POSTGRES_URL,
else SQLite in a temporary directory. Targets: >= 1500 requests/s for the footprint
read and the computed footprint at 32 connections with p99 <= 50 ms, the computed one
also under 20 appends/s. Each path is read once before the warm-up, so the figures are
of steady reads, not of first computations.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from entries import enroll, footprint
from scratch_db import scratch_store
from trickle import DOWNSTREAM, VERIFIER, Read, Signers, Trickle, consents, trickle_entries

from clients.sdk import LedgerClient, OrgSigner, SignedEntry, new_entry
from gateway.app import create_app
from gateway.auth import TokenIssuer, add_client, gateway_key
from gateway.context import GatewayContext
from gateway.key_binding import client_binding
from gateway.server import HttpServer
from ledger.process import settle_heap_after_startup
from ledger.server import LedgerServer, ServerConfig

SUPPLIER = "urn:pact:company:customcode:bench-supplier"
UPSTREAM = "urn:pact:company:customcode:bench-upstream"
BUYER = "urn:pact:company:customcode:bench-buyer"


# -- load generator (runs in a child process) ----------------------------------------------


class _Client(asyncio.Protocol):
    """One keep-alive connection sending the next GET as soon as the previous answer is
    complete (a protocol, not streams: the generator must cost far less than the server)."""

    def __init__(
        self, requests: list[bytes], offset: int, deadline: float, count: int | None = None
    ) -> None:
        self.requests = requests
        self.i = offset
        self.deadline = deadline
        self.stop_at = None if count is None else offset + count
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.buffer = b""
        self.done = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.deadline or self.i == self.stop_at:
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(self.requests[self.i % len(self.requests)])
        self.i += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        at = self.buffer.find(b"content-length:", 0, end)
        length = int(self.buffer[at + 15 : self.buffer.index(b"\r\n", at)]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        self.latencies.append(time.perf_counter() - self.started)
        status = int(self.buffer[9:12])
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.buffer = self.buffer[end + 4 + length :]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _client(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    offset: int,
    deadline: float,
    count: int | None = None,
) -> tuple[list[float], dict[int, int]]:
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        for path in paths
    ]
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: _Client(requests, offset, deadline, count), host, port
    )
    await client.done
    return client.latencies, client.statuses


async def _load(
    host: str, port: int, paths: list[str], token: str, connections: int, seconds: float
) -> dict[str, Any]:
    # Every path read once, then a warm-up: every connection opened and a few requests
    # served before measuring.
    await _client(host, port, paths, token, 0, time.perf_counter() + 60, len(paths))
    await asyncio.gather(
        *(
            _client(host, port, paths, token, c, time.perf_counter() + 0.5)
            for c in range(connections)
        )
    )
    started = time.perf_counter()
    deadline = started + seconds
    results = await asyncio.gather(
        *(_client(host, port, paths, token, c * 7, deadline) for c in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    statuses: dict[int, int] = {}
    for _, st in results:
        for code, n in st.items():
            statuses[code] = statuses.get(code, 0) + n
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "statuses": statuses,
    }


def _load_process(args: tuple[Any, ...], out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_load(*args)))


def run_load(
    url_host: str, port: int, paths: list[str], token: str, connections: int, seconds: float
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_load_process, args=((url_host, port, paths, token, connections, seconds), queue)
    )
    proc.start()
    result: dict[str, Any] = queue.get(timeout=seconds + 120)
    proc.join()
    return result


# -- the system under test ------------------------------------------------------------


def _populate(server: LedgerServer, count: int) -> tuple[list[str], Signers]:
    """The footprints read (their ids) and the signers of the appends trickled in."""
    operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
    with LedgerClient(server.grpc_target) as client:
        signers = Signers(
            supplier=enroll(client, operator, SUPPLIER, "supplier"),
            upstream=enroll(client, operator, UPSTREAM, "supplier"),
            verifier=enroll(client, operator, VERIFIER, "verifier"),
            downstream=enroll(client, operator, DOWNSTREAM, "supplier"),
        )
        supplier, upstream = signers.supplier, signers.upstream
        enroll(client, operator, BUYER, "buyer")
        ids = []
        # Four rounds, each free of dependencies inside it: the upstream footprints, the
        # upstream's product-line grants that let the supplier cite them (citing needs
        # consent), the supplier's footprints citing them, the supplier's grants (the
        # buyer's, and those the trickle needs).
        rounds: list[list[SignedEntry]] = [[], [], [], []]
        for i in range(count):
            up = f"urn:pact:product:bench-upstream:material-{i}"
            product = f"urn:pact:product:bench:part-{i}"
            material = footprint(UPSTREAM, up, [])
            rounds[0].append(upstream.sign(material))
            consent = new_entry("grant", UPSTREAM, grantee=SUPPLIER, productId=up, level="summary")
            rounds[1].append(upstream.sign(consent))
            main = footprint(
                SUPPLIER,
                product,
                [{"productId": up, "companyId": UPSTREAM, "amount": "2", "unit": "kilogram"}],
            )
            ids.append(main["footprint"]["id"])
            rounds[2].append(supplier.sign(main))
            rounds[3].append(
                supplier.sign(
                    new_entry("grant", SUPPLIER, grantee=BUYER, productId=product, level="detail")
                )
            )
            read = Read(product, main["entryId"], up, material["footprint"]["id"])
            signers.reads.append(read)
            rounds[3] += consents(signers, read)
        for batch in rounds:
            for result in client.submit_stream(batch):
                if not hasattr(result, "seq"):
                    raise SystemExit(f"setup failed: {result}")
    return ids, signers


def _report(name: str, connections: int, r: dict[str, Any]) -> str:
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
    return (
        f"{name}: {r['rps']:.0f} requests/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms "
        f"at {connections} connections ({r['requests']} requests; status {codes})"
    )


def _bare_fastapi_rate(connections: int, seconds: float, token: str) -> float:
    """Requests/s of an endpoint that does nothing, on the event loop as the PACT read
    is, through the same HTTP server class and load generator: the ceiling of one
    Python gateway process on this machine."""
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/3/footprints/{footprint_id}")
    async def nothing(footprint_id: str) -> dict[str, str]:
        return {"id": footprint_id}

    http = HttpServer(bare, "127.0.0.1", 0)
    http.start()
    try:
        result = run_load("127.0.0.1", http.port, ["/3/footprints/x"], token, connections, seconds)
    finally:
        http.stop()
    return float(result["rps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--footprints", type=int, default=200)
    parser.add_argument("--appends-per-second", type=float, default=20.0)
    args = parser.parse_args()
    base = (
        args.db
        or os.environ.get("CARBONLEDGER_BENCH_POSTGRES_URL")
        or os.environ.get("CARBONLEDGER_TEST_POSTGRES_URL")
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_store(base, Path(tmp)) as (db_url, store_name),
    ):
        data_dir = Path(tmp)
        server = LedgerServer(
            ServerConfig(data_dir=data_dir, db_url=db_url, grpc_address="127.0.0.1:0")
        )
        server.start()
        try:
            print(
                f"gateway bench: {store_name}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}, {args.footprints} footprints"
            )
            ids, signers = _populate(server, args.footprints)
            # Enough for both runs under appends, warm-up included, signed before timing.
            per_run = int(args.appends_per_second * (args.seconds + 5)) + 3
            appends = trickle_entries(signers, 2 * per_run)
            context = GatewayContext.from_server(server)
            http = HttpServer(create_app(context), "127.0.0.1", 0)
            http.start()
            settle_heap_after_startup()  # as `carbonledger serve` does
            # the client registry is exercised as in production
            add_client(server.db, client_binding(server.db, data_dir), BUYER)
            token = TokenIssuer(gateway_key(data_dir)).issue("bench", BUYER)
            lines = []
            footprint_rate: list[float] = []
            try:
                reads = (
                    ("GET /3/footprints/{id}", [f"/3/footprints/{i}" for i in ids]),
                    (
                        "GET /v1/footprints/{id}/computed",
                        [f"/v1/footprints/{i}/computed" for i in ids],
                    ),
                )
                for name, paths in reads:
                    result = run_load(
                        "127.0.0.1", http.port, paths, token, args.connections, args.seconds
                    )
                    lines.append(_report(name, args.connections, result))
                    if not footprint_rate:
                        footprint_rate.append(float(result["rps"]))
                    print(lines[-1], flush=True)
                for run, (name, paths) in enumerate(reads):
                    batch = appends[run * per_run : (run + 1) * per_run]
                    with Trickle(server.grpc_target, batch, args.appends_per_second) as trickle:
                        result = run_load(
                            "127.0.0.1", http.port, paths, token, args.connections, args.seconds
                        )
                    print(
                        _report(f"{name} under appends", args.connections, result)
                        + f"; {trickle.recorded} appends at {trickle.rate:.1f}/s",
                        flush=True,
                    )
            finally:
                http.stop()
            # Pool exhaustion: the same read through a gateway whose read pool holds 2
            # connections (PostgreSQL) while twice the connections hammer it.
            tiny = GatewayContext.from_server(server, pool_size=2, pool_timeout=10.0)
            http = HttpServer(create_app(tiny), "127.0.0.1", 0)
            http.start()
            try:
                result = run_load(
                    "127.0.0.1",
                    http.port,
                    [f"/3/footprints/{i}" for i in ids],
                    token,
                    2 * args.connections,
                    args.seconds / 2,
                )
                print(_report("GET /3/footprints/{id}, pool of 2", 2 * args.connections, result))
            finally:
                http.stop()
            reference = _bare_fastapi_rate(args.connections, args.seconds, token)
            print(
                f"reference: a do-nothing FastAPI endpoint, same server and load generator: "
                f"{reference:,.0f} requests/s"
            )
            rate = footprint_rate[0]
            print(
                f"gateway: {rate:,.0f} requests/s GET /3/footprints/{{id}} "
                f"(ratio {rate / reference:.2f} vs bare-fastapi)"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
