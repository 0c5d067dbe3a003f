"""Check 9: the database's derived tables and Merkle nodes against the replay.

Shared by ``audit --db`` and ``fsck``: the replay's derived tables (see
``clients.audit.replica``) are compared with the stored ones, and the stored
Merkle nodes with the ones the leaves read give. Differences are listed up to
a limit and counted beyond it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from clients.audit.derived import RowDifference, compare_tables
from clients.audit.model import Check, Failure
from clients.audit.stored_nodes import NodeDifference, node_differences, nodes_beyond
from ledger.merkle import CompactRange
from ledger.store.database import Database
from ledger.store.derived import derived_tables

MAX_LISTED = 1000


@dataclass
class StoreFindings:
    rows: list[RowDifference] = field(default_factory=list)
    nodes: list[NodeDifference] = field(default_factory=list)
    count: int = 0

    def add(self, difference: RowDifference | NodeDifference) -> None:
        self.count += 1
        if len(self.rows) + len(self.nodes) >= MAX_LISTED:
            return
        if isinstance(difference, RowDifference):
            self.rows.append(difference)
        else:
            self.nodes.append(difference)

    def failures(self) -> list[Failure]:
        return [Failure(Check.DERIVED, str(d)) for d in self.rows] + [
            Failure(Check.MERKLE_NODE, str(d)) for d in self.nodes
        ]


def check_store(
    db: Database,
    replica: Connection | None,
    start: CompactRange,
    leaves: Sequence[bytes],
    whole_tree: bool,
) -> StoreFindings:
    """Compare nodes completed by ``leaves`` (appended to ``start``) and, with a
    ``replica``, every derived table. ``whole_tree``: the leaves end the stored log,
    so stored nodes beyond them are extra."""
    findings = StoreFindings()
    if replica is not None:
        for row in _stored_rows(db, replica):
            findings.add(row)
    for node in node_differences(db, start, leaves):
        findings.add(node)
    if whole_tree:
        count, listed = nodes_beyond(db, start.size + len(leaves), MAX_LISTED)
        for node in listed:
            findings.add(node)
        findings.count += count - len(listed)
    return findings


def _stored_rows(db: Database, replica: Connection) -> Iterator[RowDifference]:
    with db.read() as conn:
        yield from compare_tables(conn, replica, derived_tables())
