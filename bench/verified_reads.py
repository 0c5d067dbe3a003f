"""The cost of a verified read (``ledger.read.verified``): a quick timing script, not a
benchmark of record and not part of ``make bench``.

Starts a ledger over a temporary SQLite file (or ``--db-url``), records ``--records``
org enrolments, then times, per record: the plain store read; the check alone on a
record already fetched, first uncached (inclusion proof from the stored nodes against
the signed checkpoint) and then cached (re-hash only); and a full verified read (fetch
and check), uncached and cached.

    .venv/bin/python bench/verified_reads.py --records 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.keys import encode_public_key, new_private_key, public_key_bytes
from ledger.read import VerifiedLog
from ledger.server import LedgerServer, ServerConfig


def populate(server: LedgerServer, count: int) -> None:
    operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
    entries = []
    for n in range(count):
        org = f"urn:carbonledger:org:bench-{n}"
        key = public_key_bytes(new_private_key())
        entries.append(
            operator.sign(
                new_entry(
                    "org.enroll",
                    operator.org,
                    orgId=org,
                    name=org,
                    roles=["supplier"],
                    publicKey=encode_public_key(key),
                )
            )
        )
    with LedgerClient(server.grpc_target) as client:
        for answer in client.submit_stream(entries):
            assert not isinstance(answer, Exception), answer
    server.checkpointer.refresh()


def timed(label: str, count: int, run: Callable[[], object]) -> None:
    start = time.perf_counter()
    run()
    print(f"{label:<44} {(time.perf_counter() - start) / count * 1e6:9.1f} µs/record")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LedgerServer(
            ServerConfig(data_dir=Path(tmp), db_url=args.db_url, grpc_address="127.0.0.1:0")
        )
        server.start()
        try:
            populate(server, args.records)
            store = server.store
            size = store.tree_size()
            print(f"{size} records on {server.db.url.split(':')[0]}")
            rows = [store.record(seq) for seq in range(size)]
            records = [r for r in rows if r is not None]
            seqs = range(size)
            timed("plain store read (no check)", size, lambda: [store.record(s) for s in seqs])
            checks = VerifiedLog(store, server.checkpointer)
            timed(
                "check only, uncached (inclusion proof)",
                size,
                lambda: [checks.verify(r) for r in records],
            )
            timed("check only, cached (re-hash)", size, lambda: [checks.verify(r) for r in records])
            reads = VerifiedLog(store, server.checkpointer)
            timed("verified read, uncached", size, lambda: [reads.record(s) for s in seqs])
            timed("verified read, cached", size, lambda: [reads.record(s) for s in seqs])
            streamed = VerifiedLog(store, server.checkpointer)
            timed(
                "verified stream (pages of 256), uncached",
                size,
                lambda: list(streamed.records(0, size)),
            )
            timed("verified stream, cached", size, lambda: list(streamed.records(0, size)))
            timed("plain stream (no check)", size, lambda: list(store.records(0, size)))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
