"""The ``--state`` directory: the last audited checkpoint and the replay state behind it.

``audit-state.sqlite3`` holds, and why each part is needed:

- the verified checkpoint note, its size and root: the next audit proves the
  new checkpoint consistent with it (check 6), so a history rewritten after
  this audit is caught even if it is internally consistent;
- the compact range (``popcount(size)`` subtree hashes), the last chain hash
  and timestamp: new leaves extend them, so the next Merkle root comes from
  O(log n) saved hashes without re-reading old records;
- the identity state (JSON: orgs and keys, small) and the carbon facts, in
  the sequencer's own index tables, read through its own ``SqlCarbonView``:
  new entries are checked against the facts as of the saved checkpoint while
  touching only the rows they need, O(new · log n), not the whole state.
  (A full audit answers the rules from memory and writes the tables through
  the same ``SqlCarbonView``: ``replica``.) These tables are the replay an
  offline audit compares the database's derived tables with.

All of it changes in one SQLite transaction, committed only when the audit
found nothing wrong. A full audit builds a new file next to the old one and
renames it into place after an fsync, so a crash never leaves half a state
and a failed audit leaves the previous state as it was.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, create_engine, event
from sqlalchemy import select as sql_select
from sqlalchemy.exc import SQLAlchemyError

from clients.audit.engine import ReplayState
from clients.audit.model import StateError
from clients.audit.replica import create_derived_tables
from clients.audit.snapshot import identity_from_json, identity_to_json
from ledger.merkle import CompactRange, MerkleError
from ledger.store.carbon_index import SqlCarbonView

STATE_FILE = "audit-state.sqlite3"
FORMAT = 5  # 5: site tables (site, site_input); 4: serials issued to registry accounts

# A metadata of its own: never registered with the ledger's tables.
_META = MetaData()
_AUDIT = Table("audit_state", _META, Column("id", Integer, primary_key=True), Column("data", Text))


@dataclass
class SavedCheckpoint:
    """A checkpoint an earlier run verified (and, for audits, fully checked up to)."""

    note: str
    size: int
    root_hash: bytes


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` next to ``path`` and rename it over ``path`` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as handle:
        json.dump(data, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StateError(f"{path} does not hold a JSON object")
    return data


class AuditStateStore:
    """One audit's transaction on the state directory.

    ``fresh``: start from an empty state (full audit); the new file replaces
    the old one only on :meth:`commit`.
    """

    def __init__(self, directory: Path, *, fresh: bool) -> None:
        self.directory = directory
        self.fresh = fresh
        self.final = directory / STATE_FILE
        self.path = self.final.with_name(STATE_FILE + ".new") if fresh else self.final
        directory.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.path.unlink(missing_ok=True)
        elif not self.final.exists():
            raise StateError(f"{self.final} does not exist")
        self._engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self._engine, "connect", self._pragmas)
        try:
            self.conn: Connection = self._engine.connect()
            self.conn.begin()
            if fresh:
                _META.create_all(self.conn)
                create_derived_tables(self.conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise StateError(f"cannot open {self.path}: {exc}") from None

    def _pragmas(self, dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        # A fresh file is thrown away on any failure and fsynced before the rename.
        cursor.execute("PRAGMA synchronous=OFF" if self.fresh else "PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA journal_mode=MEMORY" if self.fresh else "PRAGMA journal_mode=DELETE")
        cursor.close()

    def carbon(self) -> SqlCarbonView:
        return SqlCarbonView(self.conn)

    def load(self) -> tuple[SavedCheckpoint, ReplayState]:
        """The saved checkpoint and the replay state as of it (incremental audits)."""
        try:
            raw = self.conn.execute(sql_select(_AUDIT.c.data).where(_AUDIT.c.id == 1)).scalar()
            data = json.loads(raw) if raw else None
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise StateError(f"{self.final} holds no audit state of format {FORMAT}")
            checkpoint = _checkpoint(data["checkpoint"])
            compact = CompactRange(checkpoint.size, [bytes.fromhex(h) for h in data["compact"]])
            replay = ReplayState(
                identity_from_json(data["identity"]),
                self.carbon(),
                compact,
                bytes.fromhex(data["last_chain_hash"]),
                int(data["last_timestamp_us"]),
            )
        except (SQLAlchemyError, KeyError, TypeError, ValueError, MerkleError) as exc:
            raise StateError(f"saved audit state is unreadable: {exc!r}") from exc
        if compact.root() != checkpoint.root_hash:
            raise StateError("saved subtree hashes do not give the saved checkpoint's root")
        if replay.identity.size != checkpoint.size:
            raise StateError("saved identity state is not as of the saved checkpoint")
        return checkpoint, replay

    def commit(self, checkpoint: SavedCheckpoint, replay: ReplayState) -> None:
        data = {
            "format": FORMAT,
            "checkpoint": {
                "note": checkpoint.note,
                "size": checkpoint.size,
                "root_hash": checkpoint.root_hash.hex(),
            },
            "compact": [h.hex() for h in replay.compact.hashes],
            "last_chain_hash": replay.last_chain_hash.hex(),
            "last_timestamp_us": replay.last_timestamp_us,
            "identity": identity_to_json(replay.identity),
        }
        self.conn.execute(_AUDIT.delete())
        self.conn.execute(_AUDIT.insert().values(id=1, data=json.dumps(data)))
        self.conn.commit()
        self._close()
        if self.fresh:
            with self.path.open("rb+") as handle:
                os.fsync(handle.fileno())
            self.path.replace(self.final)

    def abort(self) -> None:
        """Leave the previous state exactly as it was."""
        self.conn.rollback()
        self._close()
        if self.fresh:
            self.path.unlink(missing_ok=True)

    def _close(self) -> None:
        self.conn.close()
        self._engine.dispose()


def _checkpoint(data: dict[str, Any]) -> SavedCheckpoint:
    return SavedCheckpoint(str(data["note"]), int(data["size"]), bytes.fromhex(data["root_hash"]))


def has_state(directory: Path) -> bool:
    return (directory / STATE_FILE).exists()


def load_checkpoint(directory: Path) -> SavedCheckpoint | None:
    """Only the saved checkpoint (what ``--from-scratch`` still checks against)."""
    if not has_state(directory):
        return None
    store = AuditStateStore(directory, fresh=False)
    try:
        return store.load()[0]
    finally:
        store.abort()
