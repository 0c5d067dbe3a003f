"""The witness's memory: the latest checkpoint it cosigned, per log origin.

One SQLite file in the state directory (``witness-state.sqlite3``). Checking a
request's old size against the stored checkpoint and storing the new one happen
in one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock is taken before the
read, so two requests (threads of one server, or two servers sharing the
directory) are serialised and the older can never roll back the newer
(the race c2sp.org/tlog-witness describes). The new checkpoint is committed
(durably: ``synchronous=FULL``) before any cosignature is made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "witness-state.sqlite3"
_LOCK_TIMEOUT = 30.0
_SCHEMA = """CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL
)"""


class WitnessStateError(Exception):
    """The state directory cannot be used (unreadable file, not a witness state)."""


@dataclass(frozen=True)
class CosignedCheckpoint:
    """The latest checkpoint cosigned for one origin, and the note it came in."""

    size: int
    root_hash: bytes
    note: str


class WitnessStore:
    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / STATE_FILE
            with closing(self._connect()) as conn:
                conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise WitnessStateError(f"witness state in {directory}: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun explicitly, as BEGIN IMMEDIATE.
        conn = sqlite3.connect(self.path, timeout=_LOCK_TIMEOUT, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def latest(self, origin: str) -> CosignedCheckpoint | None:
        with closing(self._connect()) as conn:
            return self._current(conn, origin)

    @contextmanager
    def update(
        self, origin: str
    ) -> Iterator[tuple[CosignedCheckpoint | None, Callable[[CosignedCheckpoint], None]]]:
        """The stored checkpoint of ``origin`` and a function saving its successor, under
        the write lock: the save is committed when the block ends, undone if it raises."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:

                def save(new: CosignedCheckpoint) -> None:
                    conn.execute(
                        "INSERT INTO cosigned (origin, size, root_hash, note) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                        "root_hash = excluded.root_hash, note = excluded.note",
                        (origin, new.size, new.root_hash, new.note),
                    )

                yield self._current(conn, origin), save
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _current(self, conn: sqlite3.Connection, origin: str) -> CosignedCheckpoint | None:
        row = conn.execute(
            "SELECT size, root_hash, note FROM cosigned WHERE origin = ?", (origin,)
        ).fetchone()
        return None if row is None else CosignedCheckpoint(int(row[0]), bytes(row[1]), str(row[2]))
