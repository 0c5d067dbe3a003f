"""The stored Merkle nodes recomputed from the leaves the audit read.

The ledger serves every root and proof from its ``merkle_node`` table, so a
flipped node would make it serve proofs that fail for honest clients (or, with
other changes, hide an edit from a spot check) while an audit that computes
roots from the leaves alone passes. Here every node the leaves read complete is
recomputed (``CompactRange`` reports each as it completes) and compared with
the stored one, a batch at a time; stored nodes beyond the tree are reported
too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import BigInteger, func, literal, select

from ledger.merkle import CompactRange, NodeID
from ledger.store.database import Database
from ledger.store.tables import MerkleNodeRow

BATCH = 4096
_N = MerkleNodeRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NodeDifference:
    node: NodeID
    stored: bytes | None  # None: missing
    computed: bytes | None  # None: a node beyond the tree

    def __str__(self) -> str:
        where = f"merkle_node (level {self.node.level}, index {self.node.index})"
        if self.stored is None:
            return f"{where}: missing from the database"
        if self.computed is None:
            return f"{where}: extra node beyond the tree the log gives"
        return f"{where}: stored {self.stored.hex()}, recomputed {self.computed.hex()}"


def node_differences(
    db: Database, start: CompactRange, leaves: Iterable[bytes]
) -> Iterator[NodeDifference]:
    """Nodes completed by appending ``leaves`` to ``start`` that are not stored as computed."""
    compact = CompactRange(start.size, start.hashes)
    computed: dict[NodeID, bytes] = {}
    for leaf in leaves:
        compact.append(leaf, computed.__setitem__)
        if len(computed) >= BATCH:
            yield from _check(db, computed)
            computed = {}
    yield from _check(db, computed)


def _check(db: Database, computed: dict[NodeID, bytes]) -> Iterator[NodeDifference]:
    """One range scan per level: the nodes a run of appended leaves completes are
    consecutive at each level."""
    levels: defaultdict[int, list[int]] = defaultdict(list)
    for node in computed:
        levels[node.level].append(node.index)
    stored: dict[NodeID, bytes] = {}
    with db.read() as conn:
        for level, indexes in levels.items():
            rows = conn.execute(
                select(_N.c.idx, _N.c.hash).where(
                    _N.c.level == level, _N.c.idx.between(min(indexes), max(indexes))
                )
            )
            stored.update((NodeID(level, idx), bytes(digest)) for idx, digest in rows)
    for node, digest in sorted(computed.items()):
        if stored.get(node) != digest:
            yield NodeDifference(node, stored.get(node), digest)


def nodes_beyond(db: Database, size: int, limit: int) -> tuple[int, list[NodeDifference]]:
    """Stored nodes covering leaves at or past ``size``: their count and the first ``limit``."""
    beyond = _N.c.idx >= literal(size, BigInteger).op(">>")(_N.c.level)
    with db.read() as conn:
        count = conn.execute(select(func.count()).select_from(_N).where(beyond)).scalar_one()
        rows = conn.execute(
            select(_N.c.level, _N.c.idx, _N.c.hash)
            .where(beyond)
            .order_by(_N.c.level, _N.c.idx)
            .limit(limit)
        ).all()
    return int(count), [NodeDifference(NodeID(r.level, r.idx), bytes(r.hash), None) for r in rows]
