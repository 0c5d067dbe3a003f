"""The log in the database: appending records with their Merkle nodes, and reading
records, roots and proofs at any tree size with O(log n) look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, ScalarSelect, and_, insert, or_, select

from ledger.entries.base import EntryId
from ledger.errors import IntegrityError
from ledger.merkle import (
    CompactRange,
    NodeID,
    consistency_nodes,
    inclusion_nodes,
    root_from_subtrees,
    root_nodes,
)
from ledger.record import GENESIS_CHAIN_HASH, Record
from ledger.store.database import Database
from ledger.store.driver_sql import BulkInsert, SelectWhereIn
from ledger.store.tables import BIGINT_MAX, CheckpointRow, MerkleNodeRow, RecordRow

_ENTRY_ID = TypeAdapter(EntryId)

_R = RecordRow.__table__  # type: ignore[attr-defined]
_N = MerkleNodeRow.__table__  # type: ignore[attr-defined]
_C = CheckpointRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq: int
    timestamp_us: int
    entry_id: str
    entry_type: str
    org_id: str
    key_id: bytes
    signature: bytes
    prev_chain_hash: bytes
    entry: bytes
    entry_hash: bytes
    leaf_hash: bytes
    chain_hash: bytes

    def as_record(self) -> Record:
        """The leaf fields as stored (unverified until ``ledger.read.verified`` said so)."""
        return Record(
            self.seq,
            self.timestamp_us,
            self.prev_chain_hash,
            self.entry_hash,
            self.key_id,
            self.signature,
        )


_RECORD_COLUMNS = [_R.c[name] for name in StoredRecord.__slots__]
_INSERT_RECORDS = BulkInsert(_R, StoredRecord.__slots__)
_INSERT_NODES = BulkInsert(_N, ("level", "idx", "hash"))
_RECORDS_BY_ENTRY_ID = SelectWhereIn(_R, StoredRecord.__slots__, "entry_id")
_RECORDS_AT = SelectWhereIn(_R, StoredRecord.__slots__, "seq")
_record_values = attrgetter(*StoredRecord.__slots__)


def _record(row: Sequence[object]) -> StoredRecord:
    return StoredRecord(*row)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SignedCheckpointRow:
    size: int
    root_hash: bytes
    note: str


class NodeReader:
    """Perfect-subtree hashes fetched by id in one query."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, ids: Sequence[NodeID]) -> list[bytes]:
        found = self.found(ids)
        missing = [(n.level, n.index) for n in ids if n not in found]
        if missing:
            raise LookupError(f"merkle nodes missing from the store: {missing[:4]}")
        return [found[n] for n in ids]

    def found(self, ids: Iterable[NodeID]) -> dict[NodeID, bytes]:
        """The stored ones of ``ids`` (absent ones are left out)."""
        by_level: dict[int, set[int]] = {}
        for n in ids:
            by_level.setdefault(n.level, set()).add(n.index)
        if not by_level:
            return {}
        # One equality on the level and a list of indexes per level: both backends probe
        # the primary key for each (a row-value ``(level, idx) IN (…)`` list of more than
        # one pair made SQLite scan the whole table).
        rows = self._conn.execute(
            select(_N.c.level, _N.c.idx, _N.c.hash).where(
                or_(
                    *(
                        and_(_N.c.level == level, _N.c.idx.in_(sorted(indexes)))
                        for level, indexes in sorted(by_level.items())
                    )
                )
            )
        ).all()
        # A hash stored as another type (an insider's CAST) comes back empty: it then
        # fails the size check of every proof and range instead of a caller's arithmetic.
        return {NodeID(level, idx): h if isinstance(h, bytes) else b"" for level, idx, h in rows}


# Only whole-number seqs count: SQLite sorts a seq an insider stored as text or a blob
# above every number (``MAX`` would return it, and ``'26' + 1`` is 27), and the range
# keeps the primary-key seek. Such a record then reads as missing, which the verified
# reads and the checkpointer report.
_LOG_SIZE = (  # the bound is BIGINT_MAX
    "SELECT COALESCE(MAX(seq) + 1, 0) FROM record WHERE seq BETWEEN 0 AND 9223372036854775807"
)


def log_size(conn: Connection) -> int:
    """The number of records, as ``conn`` sees them now (seqs are dense from 0). The one
    log-size query: every index table is written in the same transaction as its
    records, so this number names the state of all of them."""
    return int(conn.exec_driver_sql(_LOG_SIZE).scalar_one())


@dataclass(frozen=True, slots=True)
class LogHead:
    """The end of the log as a committed writer left it: what the next writer needs to
    append (the Merkle tree's compact range, the last chain hash and timestamp)."""

    size: int
    tree: tuple[bytes, ...]
    last_chain_hash: bytes
    last_timestamp_us: int


def seq_of_entry(entry_id: str) -> ScalarSelect[int]:
    """The seq of the record of ``entry_id``, as a subquery: the index tables find a
    record's row by seq, so they need no index of their own on entry ids or leaf hashes
    (each such random-key index costs a page write per append once it is large)."""
    return select(_R.c.seq).where(_R.c.entry_id == entry_id).scalar_subquery()


def seq_of_leaf(leaf_hash: bytes) -> ScalarSelect[int]:
    """The seq of the record whose leaf hash is ``leaf_hash``, as a subquery."""
    return select(_R.c.seq).where(_R.c.leaf_hash == leaf_hash).scalar_subquery()


class LogWriter:
    """The log's head inside one write transaction (the sequencer lock is held).

    ``head``: what the previous writer of this process left (``LogWriter.head`` after its
    commit). It is used when the log still has its size, so an append reads one number
    instead of the tree's root nodes and the last record; otherwise (another process
    appended) the end is read from the tables."""

    def __init__(self, conn: Connection, head: LogHead | None = None) -> None:
        self._conn = conn
        self.size: int = log_size(conn)
        if head is not None and head.size == self.size:
            self.compact = CompactRange(head.size, head.tree)
            self.last_chain_hash: bytes = head.last_chain_hash
            self.last_timestamp_us: int = head.last_timestamp_us
        else:
            self._read_end()
        self._rows: list[tuple[object, ...]] = []
        self._nodes: list[tuple[object, ...]] = []

    def _read_end(self) -> None:
        conn = self._conn
        self.compact = CompactRange(self.size, NodeReader(conn).get(root_nodes(self.size)))
        if self.size:
            head = conn.execute(
                select(_R.c.chain_hash, _R.c.timestamp_us).where(_R.c.seq == self.size - 1)
            ).one()
            self.last_chain_hash = head.chain_hash
            self.last_timestamp_us = head.timestamp_us
        else:
            self.last_chain_hash = GENESIS_CHAIN_HASH
            self.last_timestamp_us = 0

    def head(self) -> LogHead:
        """The end of the log with this writer's appends (to resume from once committed)."""
        return LogHead(self.size, self.compact.hashes, self.last_chain_hash, self.last_timestamp_us)

    def existing(self, entry_ids: Iterable[str]) -> dict[str, StoredRecord]:
        """The records of those of ``entry_ids`` that are recorded, by entry id."""
        rows = _RECORDS_BY_ENTRY_ID.run(self._conn, list(set(entry_ids)))
        return {r.entry_id: r for r in map(_record, rows)}

    def records_since(self, seq: int, types: Iterable[str]) -> Iterator[StoredRecord]:
        query = (
            select(*_RECORD_COLUMNS)
            .where(_R.c.seq >= seq, _R.c.entry_type.in_(list(types)))
            .order_by(_R.c.seq)
        )
        for row in self._conn.execute(query):
            yield _record(row)

    def append(self, record: StoredRecord) -> None:
        """Queue ``record`` (which must be the next seq) and its Merkle nodes."""
        if record.seq != self.size:
            raise ValueError(f"append out of order: seq {record.seq}, size {self.size}")
        self.compact.append(record.leaf_hash, self._queue_node)
        self._rows.append(_record_values(record))
        self.size += 1
        self.last_chain_hash = record.chain_hash
        self.last_timestamp_us = record.timestamp_us

    def _queue_node(self, node: NodeID, digest: bytes) -> None:
        self._nodes.append((node.level, node.index, digest))

    def flush(self) -> None:
        """Insert the queued records and nodes: one ``executemany`` per table."""
        _INSERT_RECORDS.run(self._conn, self._rows)
        _INSERT_NODES.run(self._conn, self._nodes)
        self._rows, self._nodes = [], []


class LogStore:
    """Reads of the log, and the entry point for sequenced writes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def tree_size(self) -> int:
        with self.db.read() as conn:
            return log_size(conn)

    def record(self, seq: int) -> StoredRecord | None:
        with self.db.read() as conn:
            return record_at(conn, seq)

    def record_by_entry_id(self, entry_id: str) -> StoredRecord | None:
        """The record of ``entry_id``; None for a string that is not an entry id at all
        (one with a NUL, say, which PostgreSQL cannot even compare)."""
        try:
            _ENTRY_ID.validate_python(entry_id)
        except ValidationError:
            return None
        with self.db.read() as conn:
            row = conn.execute(select(*_RECORD_COLUMNS).where(_R.c.entry_id == entry_id)).first()
        return _record(row) if row else None

    def seq_of_leaf(self, leaf_hash: bytes) -> int | None:
        with self.db.read() as conn:
            seq = conn.execute(select(seq_of_leaf(leaf_hash))).scalar()
        return None if seq is None else int(seq)

    def records(
        self,
        start: int,
        stop: int,
        *,
        types: Iterable[str] | None = None,
        page: int = 2000,
    ) -> Iterator[StoredRecord]:
        """Records with start <= seq < stop in order (only those of ``types`` when given),
        read a page at a time. Bounds beyond the databases' signed 64-bit integers are
        clamped (no seq is there)."""
        stop = min(stop, BIGINT_MAX)
        only = [] if types is None else [_R.c.entry_type.in_(sorted(types))]
        while start < stop:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(*_RECORD_COLUMNS)
                    .where(_R.c.seq >= start, _R.c.seq < stop, *only)
                    .order_by(_R.c.seq)
                    .limit(page)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            start = rows[-1].seq + 1

    def root(self, size: int) -> bytes:
        with self.db.read() as conn:
            return root_from_subtrees(NodeReader(conn).get(root_nodes(size)))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        nodes = inclusion_nodes(index, size)
        with self.db.read() as conn:
            return nodes.rehash(NodeReader(conn).get(nodes.ids))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        nodes = consistency_nodes(first, second)
        with self.db.read() as conn:
            return nodes.rehash(NodeReader(conn).get(nodes.ids))

    def latest_checkpoint(self) -> SignedCheckpointRow | None:
        with self.db.read() as conn:
            return latest_checkpoint(conn)

    def save_checkpoint(self, conn: Connection, cp: SignedCheckpointRow, signed_at_us: int) -> None:
        conn.execute(
            insert(_C),
            [
                {
                    "size": cp.size,
                    "root_hash": cp.root_hash,
                    "note": cp.note,
                    "signed_at_us": signed_at_us,
                }
            ],
        )


def record_at(conn: Connection, seq: int) -> StoredRecord | None:
    """The stored record at ``seq`` on ``conn``, as stored (unverified: readers go through
    ``ledger.read.verified``)."""
    if not 0 <= seq <= BIGINT_MAX:
        return None
    row = conn.execute(select(*_RECORD_COLUMNS).where(_R.c.seq == seq)).first()
    return _record(row) if row else None


def records_at(conn: Connection, seqs: Sequence[int]) -> list[StoredRecord]:
    """The stored records at those of ``seqs`` that have one, in seq order (unverified, as
    ``record_at``); ``seqs`` is a page, bounded by the caller."""
    wanted = [seq for seq in seqs if 0 <= seq <= BIGINT_MAX]
    return sorted(map(_record, _RECORDS_AT.run(conn, wanted)), key=lambda r: r.seq)


def records_in(conn: Connection, start: int, stop: int) -> list[StoredRecord]:
    """The stored records with ``start <= seq < stop`` on ``conn``, in order (unverified,
    as ``record_at``); a primary-key range, for spans of a few appends."""
    query = select(*_RECORD_COLUMNS).where(_R.c.seq >= start, _R.c.seq < stop).order_by(_R.c.seq)
    return [_record(row) for row in conn.execute(query)]


def latest_checkpoint(conn: Connection) -> SignedCheckpointRow | None:
    """The checkpoint row of the largest size, as stored (unverified: its note is what
    counts, see ``ledger.checkpointer``). Only whole-number sizes count, as for the log
    size (``checkpoint_table_edited`` finds the others); a root or note of another
    type comes back empty, so the row fails verification."""
    row = conn.execute(
        select(_C.c.size, _C.c.root_hash, _C.c.note)
        .where(_C.c.size.between(0, BIGINT_MAX))
        .order_by(_C.c.size.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    if not isinstance(row.size, int):  # SQLite: a real in range, e.g. CAST(size AS REAL)
        raise IntegrityError(
            max(log_size(conn) - 1, 0),
            f"the newest checkpoint row's size is stored as {row.size!r}, not a whole number",
        )
    root = row.root_hash if isinstance(row.root_hash, bytes) else b""
    return SignedCheckpointRow(row.size, root, stored_note(row.note))


def checkpoint_table_edited(conn: Connection) -> str | None:
    """What is wrong, if a stored checkpoint size is not a whole number of records. Only
    an edit puts one there, e.g. to move the newest checkpoint out of the way so that an
    older one seems newest. The smallest and the largest as SQL orders them (numbers,
    then text, then blobs): two primary-key seeks, which find a negative size, one
    stored as text or a blob, and an infinite one."""
    for order in (_C.c.size.asc(), _C.c.size.desc()):
        size: object = conn.execute(select(_C.c.size).order_by(order).limit(1)).scalar()
        if size is not None and not (type(size) is int and 0 <= size <= BIGINT_MAX):
            return (
                f"a checkpoint row's size is stored as {size!r}, not a whole number of "
                "records: the checkpoint table was edited"
            )
    return None


def stored_note(value: object) -> str:
    """A stored ``checkpoint.note`` as text; one of another type (SQLite's ``CAST(note AS
    BLOB)``, say) comes back empty, so it fails verification instead of a caller failing
    on its type."""
    return value if isinstance(value, str) else ""
