"""Ingest benchmark: durable entries/s from concurrent signers, one entry per message
(``SubmitStream``) and many per message (``SubmitBatch``, 500 per message), each as a
ratio to the raw Ed25519 verification rate of ``cryptography`` on all cores, measured in
the same run on the same machine. Entries are signed before the timed window (signing is
the suppliers' cost, not the ledger's).

It also measures what bounds any server on this stack, per path: the transport ceiling
(the same clients sending the same entries to a gRPC server whose SubmitStream or
SubmitBatch does nothing but answer each entry with a receipt) and the stateless floor
of ``bench/floors.py``. Transport, floor and verification all share the cores, so no
server can exceed ``1 / (1/transport + 1/floor + 1/verify)`` entries/s; the bench prints
that bound as a ratio next to the measured one, and where the sequencer's time went on
each path; on the batched path, also the rate its one thread's rules and commits alone
allow (a serial stage: no more cores raise it).

Usage: python bench/ingest.py [--entries N] [--clients C] [--db URL]
The last line is the batched headline: ``ingest: <rate> entries/s (ratio <r> vs ...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from floors import bound, stateless_rate

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.keys import encode_public_key, public_key_bytes
from ledger.process import settle_heap_after_startup
from ledger.sequencer import SequencerConfig, SequencerStats
from ledger.server import LedgerServer, ServerConfig


def _presign(operator_pem: bytes, operator_org: str, client: int, count: int) -> list[SignedEntry]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(operator_pem, None)
    assert isinstance(key, Ed25519PrivateKey)
    signer = OrgSigner(operator_org, key)
    out = []
    for i in range(count):
        org = f"urn:pact:company:customcode:bench-{client}-{i}"
        public = public_key_bytes(Ed25519PrivateKey.generate())
        out.append(
            signer.sign(
                new_entry(
                    "org.enroll",
                    operator_org,
                    orgId=org,
                    name=f"Bench supplier {client}-{i}",
                    roles=["supplier"],
                    publicKey=encode_public_key(public),
                )
            )
        )
    return out


def _submit(
    target: str, entries: list[SignedEntry], start_at: float, batched: bool
) -> tuple[int, int]:
    while time.time() < start_at:  # all clients begin together
        time.sleep(0.001)
    ok = rejected = 0
    with LedgerClient(target, window=2048) as client:
        results = (
            client.submit_batches(entries, batch_size=500, in_flight=4)
            if batched
            else client.submit_stream(entries)
        )
        for result in results:
            if isinstance(result, Rejected):
                rejected += 1
            else:
                ok += 1
    return ok, rejected


class _ReceiptsOnly(pb_grpc.LedgerServicer):  # type: ignore[misc]
    """SubmitStream and SubmitBatch that answer every entry at once and record nothing:
    what the gRPC transport and the SDK cost on their own."""

    def SubmitStream(
        self, request_iterator: Iterator[pb.SubmitRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.SubmitStreamResponse]:
        for index, request in enumerate(request_iterator):
            yield pb.SubmitStreamResponse(index=index, receipt=_placeholder(index, request))

    def SubmitBatch(
        self, request: pb.SubmitBatchRequest, context: grpc.ServicerContext
    ) -> pb.SubmitBatchResponse:
        return pb.SubmitBatchResponse(
            results=[
                pb.SubmitStreamResponse(index=index, receipt=_placeholder(index, entry))
                for index, entry in enumerate(request.entries)
            ]
        )


def _placeholder(index: int, request: pb.SubmitRequest) -> pb.Receipt:
    hash_placeholder = bytes(32)
    return pb.Receipt(
        entry_id=str(index),
        seq=index,
        leaf_hash=hash_placeholder,
        chain_hash=hash_placeholder,
        timestamp_us=len(request.entry),
    )


def transport_rate(
    pool: ProcessPoolExecutor, batches: list[list[SignedEntry]], batched: bool
) -> float:
    """Entries/s of the same clients and entries through a do-nothing SubmitStream (or
    SubmitBatch when ``batched``), sent by ``pool``'s processes, which have run clients
    already: a fresh pool would count its processes' start-up as transport time."""
    server = grpc.server(ThreadPoolExecutor(max_workers=len(batches) + 4))
    pb_grpc.add_LedgerServicer_to_server(_ReceiptsOnly(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        start_at = time.time() + 1.0
        targets = [f"127.0.0.1:{port}"] * len(batches)
        starts, how = [start_at] * len(batches), [batched] * len(batches)
        results = list(pool.map(_submit, targets, batches, starts, how))
        elapsed = time.time() - start_at
    finally:
        server.stop(grace=None)
    return sum(ok for ok, _ in results) / elapsed


def _verify_chunk(items: list[tuple[bytes, bytes, bytes]]) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    for public, signature, message in items:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    return len(items)


def raw_verify_rate(entries: list[SignedEntry], public: bytes, workers: int) -> float:
    """Ed25519 verifications/s of the same messages on ``workers`` processes."""
    items = [(public, e.signature, e.entry) for e in entries]
    step = -(-len(items) // workers)
    chunks = [items[i : i + step] for i in range(0, len(items), step)]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_verify_chunk, [c[:10] for c in chunks]))  # warm the workers
        started = time.perf_counter()
        done = sum(pool.map(_verify_chunk, chunks))
        return done / (time.perf_counter() - started)


def _since(before: SequencerStats, after: SequencerStats) -> str:
    """Where the sequencer's time went between two snapshots of its stats, per entry."""
    entries = max(after.entries - before.entries, 1)
    batches = after.batches - before.batches

    def per_entry(seconds: float) -> str:
        return f"{seconds:.2f}s ({1e6 * seconds / entries:.0f} µs/entry)"

    return (
        f"batches={batches} mean batch={entries / max(batches, 1):.0f} "
        f"waiting for checks={per_entry(after.verify_seconds - before.verify_seconds)} "
        f"rules={per_entry(after.rule_seconds - before.rule_seconds)} "
        f"commit={per_entry(after.commit_seconds - before.commit_seconds)}"
    )


def _serial_rate(before: SequencerStats, after: SequencerStats) -> float:
    """Entries/s the sequencer's one thread could take if it never waited for checks:
    what its rules and commits alone allow, a bound for any load."""
    busy = (after.rule_seconds - before.rule_seconds) + (
        after.commit_seconds - before.commit_seconds
    )
    return (after.entries - before.entries) / max(busy, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=40_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--db", help="store URL (default: SQLite in a temporary directory)")
    parser.add_argument("--workers", type=int, help="verification processes (default: cores)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    per_client = args.entries // args.clients

    with tempfile.TemporaryDirectory() as tmp:
        server = LedgerServer(
            ServerConfig(
                data_dir=Path(tmp),
                db_url=args.db,
                grpc_address="127.0.0.1:0",
                max_in_flight=8192,
                sequencer=SequencerConfig(verify_workers=args.workers or cores),
            )
        )
        server.start()
        operator_pem = server.data_dir.operator_key_path.read_bytes()
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(args.clients, mp_context=context) as pool:
            signed = list(
                pool.map(
                    _presign,
                    [operator_pem] * (2 * args.clients),
                    [server.config.operator_org] * (2 * args.clients),
                    range(2 * args.clients),
                    [per_client] * (2 * args.clients),
                )
            )
            batches, for_batched = signed[: args.clients], signed[args.clients :]
            settle_heap_after_startup()  # as `carbonledger serve` does
            targets = [server.grpc_target] * args.clients
            runs = {}
            spent: dict[str, str] = {}
            serial: dict[str, float] = {}
            for name, entries, batched in (
                ("stream", batches, False),
                ("batch", for_batched, True),
            ):
                before = dataclasses.replace(server.sequencer.stats)
                start_at = time.time() + 1.0
                results = list(
                    pool.map(
                        _submit,
                        targets,
                        entries,
                        [start_at] * args.clients,
                        [batched] * args.clients,
                    )
                )
                runs[name] = (results, time.time() - start_at)
                spent[name] = _since(before, server.sequencer.stats)
                serial[name] = _serial_rate(before, server.sequencer.stats)
            transport = transport_rate(pool, batches, batched=False)
            transport_batched = transport_rate(pool, for_batched, batched=True)
        server.stop()
        rates = {
            name: sum(ok for ok, _ in results) / elapsed
            for name, (results, elapsed) in runs.items()
        }
        accepted = sum(ok for results, _ in runs.values() for ok, _ in results)
        rejected = sum(bad for results, _ in runs.values() for _, bad in results)
        elapsed = sum(elapsed for _, elapsed in runs.values())
        all_entries = [e for batch in signed for e in batch]
        operator_public = public_key_bytes(server.data_dir.operator_key())
        reference = raw_verify_rate(all_entries, operator_public, cores)
        floor = stateless_rate([e.entry for e in all_entries], cores)
    best = bound(reference, transport, floor)
    best_batched = bound(reference, transport_batched, floor)

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={cores} "
        f"python={platform.python_version()}"
    )
    print(
        f"store: {args.db or 'sqlite (WAL, synchronous=FULL)'}; clients={args.clients} "
        f"entries={accepted} rejected={rejected} elapsed={elapsed:.2f}s"
    )
    for name, line in spent.items():
        print(f"sequencer, {name}: {line}")
    print(f"reference: raw Ed25519 verify on {cores} cores = {reference:,.0f} /s")
    print(
        f"ceiling: a do-nothing SubmitStream, same clients and entries = {transport:,.0f} /s; "
        f"canonical check + schema parse + entry hash on {cores} cores = {floor:,.0f} /s; "
        f"with verification, any server <= {best:,.0f} /s (ratio <= {best / reference:.2f})"
    )
    print(
        f"ceiling, batched: a do-nothing SubmitBatch, same clients and entries = "
        f"{transport_batched:,.0f} /s; with verification and the same floor, any server <= "
        f"{best_batched:,.0f} /s (ratio <= {best_batched / reference:.2f})"
    )
    print(
        f"sequencer, batch: its rules and commits alone (one thread) allow "
        f"{serial['batch']:,.0f} /s (ratio <= {serial['batch'] / reference:.2f})"
    )
    print(
        f"ingest, one entry per message (SubmitStream): {rates['stream']:,.0f} entries/s "
        f"(ratio {rates['stream'] / reference:.2f})"
    )
    print(
        f"ingest: {rates['batch']:,.0f} entries/s "
        f"(ratio {rates['batch'] / reference:.2f} vs ed25519-verify-all-cores)"
    )


if __name__ == "__main__":
    main()
