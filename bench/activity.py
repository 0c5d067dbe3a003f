"""Metered activity data: an edge collector submitting signed batches of 1,000 readings.

One ``activity.batch`` signature covers a whole batch, so readings are cheap.
Reports durable readings/s through ``SubmitStream`` next to the rate at which the
same batches pass the ledger's stateless checks (canonical form, Ed25519 and the
entry model, as the sequencer's workers run them) on all cores, measured in the
same run. Target: ≥ 200,000 readings/s.

The ledger starts its check workers with the first large batch (about a second
to import the models); a few untimed batches go first, so the figure is the
steady-state rate of a running ledger, not its start-up.

Usage: python bench/activity.py [--batches N] [--readings 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clients.sdk import LedgerClient, OrgSigner, Rejected, collector_key_entry, new_entry
from clients.sdk.entries import SignedEntry
from ledger._internal.prevalidate import check_items
from ledger.keys import encode_public_key, new_private_key
from ledger.sequencer import SequencerConfig
from ledger.server import LedgerServer, ServerConfig

RECYCLER = "urn:pact:company:customcode:bench-recycler"
WARM_UP = 8  # untimed batches that start the ledger's check workers
STAGES = ("pretreatment", "dismantling", "smelting")


def _batch(collector: OrgSigner, index: int, readings: int) -> SignedEntry:
    start = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=index)
    rows = []
    for i in range(readings):
        begin = start + timedelta(seconds=i % 60)
        rows.append(
            {
                "meterId": f"m-{i // 60}",
                "stage": STAGES[i % 3],
                "intervalStart": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "intervalEnd": (begin + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "quantity": f"{(i % 97) / 10:.1f}",
                "unit": "kWh",
                "quality": "measured",
            }
        )
    entry = new_entry(
        "activity.batch", RECYCLER, site="plant-1", collectorId="edge-7", readings=rows
    )
    return collector.sign(entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--readings", type=int, default=1000)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        server = LedgerServer(
            ServerConfig(
                data_dir=Path(tmp),
                grpc_address="127.0.0.1:0",
                sequencer=SequencerConfig(verify_workers=cores),
            )
        )
        server.start()
        operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
        recycler = OrgSigner(RECYCLER, new_private_key())
        collector = OrgSigner(RECYCLER, new_private_key())
        with LedgerClient(server.grpc_target) as client:
            client.submit(
                operator.sign(
                    new_entry(
                        "org.enroll",
                        operator.org,
                        orgId=RECYCLER,
                        name="Recycler",
                        roles=["supplier"],
                        publicKey=encode_public_key(recycler.public_key),
                    )
                )
            )
            client.submit(recycler.sign(collector_key_entry(RECYCLER, collector.public_key)))
            warm_up = [_batch(collector, -1 - i, args.readings) for i in range(WARM_UP)]
            batches = [_batch(collector, i, args.readings) for i in range(args.batches)]
            results = list(client.submit_stream(warm_up))
            started = time.perf_counter()
            results += client.submit_stream(batches)
            elapsed = time.perf_counter() - started
        server.stop()
    refused = [r for r in results if isinstance(r, Rejected)]
    if refused:
        raise SystemExit(f"refused: {refused[0]}")
    readings = args.batches * args.readings
    rate = readings / elapsed

    items = [(b.entry, collector.public_key, b.signature) for b in batches]
    step = -(-len(items) // cores)
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(check_items, [items[:1]] * cores))  # warm up
        started = time.perf_counter()
        list(pool.map(check_items, [items[i : i + step] for i in range(0, len(items), step)]))
        reference = readings / (time.perf_counter() - started)

    print(
        f"batches={args.batches} readings/batch={args.readings} elapsed={elapsed:.2f}s "
        f"(durable, SQLite WAL synchronous=FULL; after {WARM_UP} untimed)"
    )
    print(
        f"reference: stateless checks (canonical form, Ed25519, model) of the same batches "
        f"on {cores} cores = {reference:,.0f} readings/s"
    )
    print(f"activity: {rate:,.0f} readings/s (ratio {rate / reference:.2f} vs stateless-checks)")


if __name__ == "__main__":
    main()
