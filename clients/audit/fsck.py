"""``carbonledger fsck``: the operator's check of a database against its own log.

The log is replayed with the auditor's checks (``Auditor``) into a scratch
copy of the derived tables written by the sequencer's own code
(``clients.audit.replica``), then compared with the database (check 9, as
``audit --db`` does, but up to the stored log's end: no checkpoint is needed).

``repair`` rewrites the derived tables to equal the replay, in one write
transaction holding the sequencer lock, and reports every key it changed. It
never touches records, Merkle nodes or checkpoints (those are the system of
record: a difference there is for an audit and a backup, not for a rebuild),
and refuses when the log itself fails a check (a rebuild would then encode the
tampering) or grew since the replay (the server is running).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert, update

from clients.audit.db_source import from_stored
from clients.audit.derived import RowDifference, compare_tables
from clients.audit.engine import Auditor, ReplayState
from clients.audit.model import Check, Failure
from clients.audit.parallel import VerifierPool
from clients.audit.replica import ScratchReplica
from clients.audit.source import batched
from clients.audit.store_checks import StoreFindings, check_store
from ledger.merkle import CompactRange
from ledger.store.database import Database
from ledger.store.derived import derived_tables
from ledger.store.log import LogStore, LogWriter, checkpoint_table_edited


class RepairRefused(Exception):
    """The derived tables were left as they were; the message says why."""


@dataclass
class TableRepair:
    inserted: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FsckReport:
    size: int = 0
    log_failures: list[Failure] = field(default_factory=list)
    log_failure_count: int = 0
    findings: StoreFindings = field(default_factory=StoreFindings)
    repaired: dict[str, TableRepair] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing is wrong now (after a repair: nothing it could not fix)."""
        if self.log_failure_count or self.findings.nodes:
            return False
        return self.repaired is not None or self.findings.count == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.size,
            "logFailures": [f.to_json() for f in self.log_failures],
            "logFailureCount": self.log_failure_count,
            "differenceCount": self.findings.count,
            "derived": [
                {
                    "table": d.table,
                    "key": d.key,
                    "kind": _kind(d),
                    "columns": d.columns,
                    "detail": str(d),
                }
                for d in self.findings.rows
            ],
            "merkleNodes": [str(n) for n in self.findings.nodes],
            "repaired": None
            if self.repaired is None
            else {
                name: {"inserted": r.inserted, "deleted": r.deleted, "updated": r.updated}
                for name, r in self.repaired.items()
            },
            "seconds": round(self.seconds, 3),
        }

    def to_text(self) -> str:
        lines = [f"fsck of {self.size} records in {self.seconds:.1f}s"]
        if self.log_failure_count:
            lines.append(
                f"LOG FAILS: {self.log_failure_count} record(s) fail the audit's checks "
                "(run carbonledger audit):"
            )
            lines.extend(f"  {f}" for f in self.log_failures)
        if self.findings.count:
            lines.append(f"DIFFERENCES: {self.findings.count} from the replay of the log:")
            lines.extend(f"  [derived-table] {d}" for d in self.findings.rows)
            lines.extend(f"  [merkle-node] {n}" for n in self.findings.nodes)
            listed = len(self.findings.rows) + len(self.findings.nodes)
            if self.findings.count > listed:
                lines.append(f"  ... and {self.findings.count - listed} more")
        if self.findings.nodes:
            lines.append("Merkle nodes are never rebuilt by fsck: restore them from a backup")
        if self.repaired is not None:
            lines.append("REPAIRED derived tables (one transaction):")
            for name, r in self.repaired.items():
                lines.append(
                    f"  {name}: {len(r.inserted)} inserted, {len(r.deleted)} deleted, "
                    f"{len(r.updated)} updated"
                )
                for verb, keys in (
                    ("inserted", r.inserted),
                    ("deleted", r.deleted),
                    ("updated", r.updated),
                ):
                    lines.extend(f"    {verb} {_key_text(k)}" for k in keys)
        elif self.ok:
            lines.append("OK: the derived tables and Merkle nodes are what the log gives")
        return "\n".join(lines)


def _kind(d: RowDifference) -> str:
    return "missing" if d.stored is None else "extra" if d.replayed is None else "differs"


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in key.items())


def fsck(db: Database, *, repair: bool = False, workers: int | None = None) -> FsckReport:
    started = time.perf_counter()
    report = FsckReport()
    store = LogStore(db)
    report.size = store.tree_size()
    scratch = ScratchReplica()
    try:
        replica = scratch.view()
        replay = ReplayState(carbon=replica)
        with VerifierPool(workers, report.size) as pool:
            auditor = Auditor(replay, pool)
            auditor.run(batched(from_stored(r) for r in store.records(0, report.size)))
        replica.flush()
        edited = _checkpoint_failures(db)
        report.log_failures = auditor.failures + edited
        report.log_failure_count = auditor.failure_count + len(edited)
        report.findings = check_store(db, scratch.conn, CompactRange(), auditor.leaf_hashes, True)
        if repair and report.findings.rows:
            if report.log_failure_count:
                raise RepairRefused(
                    "the log itself fails the audit's checks: derived tables left as they "
                    "were (a rebuild would follow the tampered log)"
                )
            report.repaired = _rebuild(db, scratch.conn, report.size)
    finally:
        scratch.close()
    report.seconds = time.perf_counter() - started
    return report


def _checkpoint_failures(db: Database) -> list[Failure]:
    """The checkpoint table edited so that an older checkpoint seems newest (``serve``
    refuses such a store and sends the operator here)."""
    with db.read() as conn:
        edited = checkpoint_table_edited(conn)
    if edited is None:
        return []
    advice = "restore it from a backup (each row's note states its size)"
    return [Failure(Check.CHECKPOINT_SIGNATURE, f"{edited}; {advice}")]


def _rebuild(db: Database, replica: Connection, size: int) -> dict[str, TableRepair]:
    """Make every derived table equal the replay, in one transaction under the lock."""
    with db.write() as conn:
        if LogWriter(conn).size != size:
            raise RepairRefused(
                "the log grew during fsck (is the server running?): derived tables left as "
                "they were; stop the server and run fsck --repair again"
            )
        tables = derived_tables()
        differences = list(compare_tables(conn, replica, tables))
        repaired: dict[str, TableRepair] = defaultdict(TableRepair)
        by_name = {t.name: t for t in tables}
        # Deletes first, inserts last: no unique index sees two rows for one key.
        for d in sorted(differences, key=_order):
            _apply(conn, by_name[d.table], d, repaired[d.table])
    return dict(repaired)


def _order(d: RowDifference) -> int:
    return 0 if d.replayed is None else 2 if d.stored is None else 1


def _apply(conn: Connection, table: Table, d: RowDifference, repaired: TableRepair) -> None:
    where = and_(*(table.c[k] == v for k, v in d.key.items()))
    if d.replayed is None:
        conn.execute(delete(table).where(where))
        repaired.deleted.append(d.key)
    elif d.stored is None:
        conn.execute(insert(table).values(**d.replayed))
        repaired.inserted.append(d.key)
    else:
        conn.execute(update(table).where(where).values(**d.replayed))
        repaired.updated.append(d.key)
