"""Ingest as the log grows: does the cost of an entry depend on the log's size?

A realistic mix is recorded through ``SubmitBatch`` into a fresh ledger, a tenth at a
time after an untimed warm-up of 2,000 entries, and the rate of each tenth is printed.
Per 100 entries: 80 footprints (each citing 0-3 of its supplier's products and a
published emission factor; one in ten supersedes one of the supplier's footprints from
an earlier tenth), 15 grants (product lines declared in an earlier tenth, to a buyer),
5 activity batches of 60 meter readings. Twenty suppliers
sign; everything is signed before the timed window. A rule, index or read whose cost grows
with the log shows as a falling rate: the last tenth must keep at least 0.8 of the first.

Usage: python bench/ingest_growth.py [--entries N] [--db URL]
The last line is the headline:
``ingest growth (<store>): last tenth / first tenth = r (last tenth <rate> entries/s)``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from entries import enroll, footprint
from scratch_db import scratch_store

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger.entries.carbon.factors import load_default_factors
from ledger.process import settle_heap_after_startup
from ledger.sequencer import SequencerConfig
from ledger.server import LedgerServer, ServerConfig

SUPPLIERS = [f"urn:pact:company:customcode:growth-supplier-{n}" for n in range(20)]
BUYER = "urn:pact:company:customcode:growth-buyer"
GRID = {"setId": "cn-default", "version": "2024.1", "key": "electricity-grid-cn"}
TENTHS = 10


def _plan(entries: int, seed: int) -> list[list[tuple[str, dict[str, Any]]]]:
    """The entries of each tenth as (signing org, entry), references only to earlier
    tenths (messages in flight may be recorded in any order within a tenth)."""
    rng = random.Random(seed)
    per_tenth = entries // TENTHS
    declared: dict[str, list[tuple[str, str]]] = {org: [] for org in SUPPLIERS}  # (product, id)
    tenths = []
    for tenth in range(TENTHS + 1):  # part 0 warms the server up, untimed
        earlier = {org: list(items) for org, items in declared.items()}
        out: list[tuple[str, dict[str, Any]]] = []
        for i in range(min(per_tenth, 2000) if tenth == 0 else per_tenth):
            org = SUPPLIERS[i % len(SUPPLIERS)]
            kind = i % 100
            if kind < 80:
                product = f"urn:pact:product:{org.rsplit(':', 1)[-1]}:p{tenth}-{i}"
                preceding = None
                if kind % 10 == 0 and earlier[org]:
                    product, old = earlier[org].pop(rng.randrange(len(earlier[org])))
                    preceding = [old]
                    declared[org] = [d for d in declared[org] if d[1] != old]
                cited = rng.sample(declared[org], min(rng.randint(0, 3), len(declared[org])))
                inputs: list[dict[str, Any]] = [
                    {"productId": p, "companyId": org, "amount": "0.5", "unit": "kilogram"}
                    for p, _ in cited
                ]
                inputs.append({"factor": GRID, "amount": "2", "unit": "kilowatt hour"})
                entry = footprint(org, product, inputs, preceding=preceding)
                declared[org].append((product, entry["footprint"]["id"]))
            elif kind < 95 and earlier[org]:
                product, _ = earlier[org][rng.randrange(len(earlier[org]))]
                entry = new_entry("grant", org, grantee=BUYER, productId=product, level="summary")
            else:
                entry = _activity(org, tenth * per_tenth + i)
            out.append((org, entry))
        tenths.append(out)
    return tenths


def _activity(org: str, index: int) -> dict[str, Any]:
    hour = index % 24
    readings = [
        {
            "meterId": f"m-{n // 20}",
            "stage": "smelting",
            "intervalStart": f"2025-03-01T{hour:02d}:{n:02d}:00Z",
            "intervalEnd": f"2025-03-01T{hour:02d}:{n:02d}:30Z",
            "quantity": f"{(n % 97) / 10:.1f}",
            "unit": "kWh",
            "quality": "measured",
        }
        for n in range(60)
    ]
    return new_entry("activity.batch", org, site="plant-1", collectorId="edge-1", readings=readings)


def _sign(keys: dict[str, bytes], planned: list[tuple[str, dict[str, Any]]]) -> list[SignedEntry]:
    signers = {
        org: OrgSigner(org, Ed25519PrivateKey.from_private_bytes(raw)) for org, raw in keys.items()
    }
    return [signers[org].sign(entry) for org, entry in planned]


def _submit(target: str, entries: list[SignedEntry]) -> tuple[int, list[str]]:
    ok, refused = 0, []
    with LedgerClient(target) as client:
        for result in client.submit_batches(entries, batch_size=500, in_flight=4):
            if isinstance(result, Rejected):
                refused.append(str(result))
            else:
                ok += 1
    return ok, refused


def record_mix(
    server: LedgerServer, entries: int, seed: int
) -> tuple[list[float], list[str], list[list[tuple[str, dict[str, Any]]]]]:
    """Record the mix of ``entries`` (plus the untimed warm-up) into ``server``: the rate
    of each tenth, the refusals, and the plan recorded."""
    cores = os.cpu_count() or 1
    context = multiprocessing.get_context("forkserver")
    operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
    with LedgerClient(server.grpc_target) as client:
        factors = new_entry("factors.publish", operator.org, **load_default_factors())
        client.submit(operator.sign(factors))
        signers = {org: enroll(client, operator, org, "supplier") for org in SUPPLIERS}
        enroll(client, operator, BUYER, "buyer")
    keys = {org: s.private_key.private_bytes_raw() for org, s in signers.items()}
    plan = _plan(entries, seed)
    with ProcessPoolExecutor(cores, mp_context=context) as pool:
        signed = [
            [e for part in pool.map(_sign, [keys] * cores, _split(tenth, cores)) for e in part]
            for tenth in plan
        ]
        rates, refused = [], []
        _submit(server.grpc_target, signed.pop(0))  # warm-up
        settle_heap_after_startup()  # as `carbonledger serve` does
        for tenth in signed:
            started = time.perf_counter()
            results = list(pool.map(_submit, [server.grpc_target] * 2, _split(tenth, 2)))
            elapsed = time.perf_counter() - started
            rates.append(sum(ok for ok, _ in results) / elapsed)
            refused += [r for _, bad in results for r in bad]
    return rates, refused, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument(
        "--db",
        help="store URL (PostgreSQL: a fresh schema in it, dropped after the run; "
        "default: SQLite in a temporary directory)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_store(args.db, Path(tmp)) as (db_url, store_name),
    ):
        server = LedgerServer(
            ServerConfig(
                data_dir=Path(tmp),
                db_url=db_url,
                grpc_address="127.0.0.1:0",
                sequencer=SequencerConfig(verify_workers=cores),
            )
        )
        server.start()
        rates, refused, _ = record_mix(server, args.entries, args.seed)
        size = server.store.tree_size()
        server.stop()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={cores} "
        f"python={platform.python_version()}"
    )
    print(f"store: {store_name}; entries={args.entries} log size={size} refused={len(refused)}")
    for sample in refused[:3]:
        print(f"  refused: {sample}")
    print("rate per tenth (entries/s): " + " ".join(f"{r:,.0f}" for r in rates))
    print(
        f"ingest growth ({store_name}): last tenth / first tenth = {rates[-1] / rates[0]:.2f} "
        f"(last tenth {rates[-1]:,.0f} entries/s)"
    )


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    """``items`` in ``parts`` contiguous slices (order kept within each)."""
    size = -(-len(items) // parts)
    return [items[n * size : (n + 1) * size] for n in range(parts)]


if __name__ == "__main__":
    main()
