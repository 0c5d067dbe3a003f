"""Offline audit benchmark: ``audit --db`` with and without check 9 (derived tables and
Merkle nodes compared with the replay), and ``fsck``, on a real database.

The log is built as in ``bench/audit.py`` (enrolments, key rotations, certificate
retirements) and written into the store the way the sequencer writes it: records
and Merkle nodes through ``LogWriter``, derived rows through ``SqlCarbonView`` by
the rules' own ``apply_entry``, one signed checkpoint at the end.

Usage: python bench/audit_db.py [--entries N] [--workers W] [--db URL]
Default store: SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit import MemoryLedger, build, genesis

from clients.audit.db_source import DbSource
from clients.audit.fsck import fsck
from clients.audit.run import run_audit
from ledger.entries import parse_entry
from ledger.note import Checkpoint, sign_checkpoint
from ledger.record import entry_hash
from ledger.rules import IdentityState, apply_entry
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.database import Database, sqlite_url
from ledger.store.log import LogStore, LogWriter, SignedCheckpointRow, StoredRecord


def store(ledger: MemoryLedger, db: Database) -> None:
    """The ledger's records, nodes, derived rows and checkpoint, as the sequencer writes them."""
    identity = IdentityState()
    with db.write() as conn:
        writer, carbon = LogWriter(conn), SqlCarbonView(conn)
        for r in ledger.records:
            entry = parse_entry(json.loads(r.entry))
            writer.append(
                StoredRecord(
                    r.seq,
                    r.timestamp_us,
                    entry.entryId,
                    entry.type,
                    entry.org,
                    r.key_id,
                    r.signature,
                    r.prev_chain_hash,
                    r.entry,
                    entry_hash(r.entry),
                    r.leaf_hash,
                    r.chain_hash,
                )
            )
            apply_entry(entry, r.seq, r.leaf_hash, identity, carbon)
            if writer.size % 2048 == 0:
                writer.flush()
        writer.flush()
        root = writer.compact.root()
        cp = Checkpoint(ledger.signer.name, writer.size, root)
        row = SignedCheckpointRow(writer.size, root, sign_checkpoint(cp, ledger.signer))
        LogStore(db).save_checkpoint(conn, row, time.time_ns() // 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    ledger = MemoryLedger()
    orgs = genesis(ledger)
    build(ledger, args.entries - len(ledger.records), orgs, len(ledger.records))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or sqlite_url(Path(tmp))
        db = Database(url)
        started = time.perf_counter()
        store(ledger, db)
        print(f"stored {len(ledger.records)} records in {time.perf_counter() - started:.1f}s")
        verifier = ledger.signer.verifier()
        times = {}
        stored_runs: tuple[tuple[str, Database | None], ...] = (
            ("without check 9", None),
            ("with check 9", db),
        )
        for name, stored in stored_runs:
            source = DbSource(url)
            try:
                report = run_audit(source, verifier, None, workers=args.workers, stored=stored)
            finally:
                source.close()
            assert report.ok, report.to_text()
            times[name] = report.seconds
            print(f"audit --db {name}: {report.entries_checked} entries in {report.seconds:.1f}s")
        checked = fsck(db, workers=args.workers)
        assert checked.ok, checked.to_text()
        print(f"fsck: {checked.size} records in {checked.seconds:.1f}s")
        ratio = times["with check 9"] / times["without check 9"]
        print(f"check 9 costs {ratio:.2f}x the audit without it")
        db.dispose()


if __name__ == "__main__":
    main()
