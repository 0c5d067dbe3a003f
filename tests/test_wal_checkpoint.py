"""SQLite's WAL is copied into the database file by a thread of its own, not inside the
sequencer's commits: a running ledger's records reach the main file while it serves, and
the writer's own commits never checkpoint."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from clients.sdk import LedgerClient
from ledger.store.database import WRITER_CACHE_KIB, Database, sqlite_url
from ledger.store.wal_checkpoint import WalCheckpointer
from tests.ledger_fixtures import SUPPLIER, enroll, operator_of, running_server


def _records_in_main_file(db_file: Path, scratch: Path) -> int | None:
    """How many records a copy of the database file alone (no WAL) holds; None while the
    copy is torn by a checkpoint in progress."""
    shutil.copyfile(db_file, scratch)
    try:
        with sqlite3.connect(f"file:{scratch}?immutable=1", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM record").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def test_records_reach_the_database_file_while_the_ledger_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db_file = data_dir / "ledger.sqlite3"
    with running_server(data_dir, sqlite_url(data_dir)) as server:
        with LedgerClient(server.grpc_target) as client:
            operator = operator_of(server)
            for n in range(20):
                enroll(client, operator, f"{SUPPLIER}-{n}", "supplier")
        size = server.store.tree_size()
        # Nothing here checkpoints but the checkpointer (the writer's automatic checkpoint
        # is off, and the server's connections stay open): wait for its copy.
        deadline = time.monotonic() + 30
        seen = None
        while seen != size and time.monotonic() < deadline:
            seen = _records_in_main_file(db_file, tmp_path / "copy.sqlite3")
            threading.Event().wait(0.05)  # the interval between looks, not a stand-in
        assert seen == size


def test_the_writer_leaves_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    try:
        with db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -WRITER_CACHE_KIB
        with db.read() as conn:  # readers keep SQLite's defaults (they commit nothing)
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -2000
    finally:
        db.dispose()


class _Connections:
    """``connect`` for a checkpointer: counts the connections opened and closed (each
    thread opens one and closes it as it ends)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.opened = threading.Semaphore(0)
        self.closed = threading.Semaphore(0)

    def __call__(self) -> Any:
        conn = self.db.read_engine.raw_connection()
        outer = self

        class Counted:
            def cursor(self) -> Any:
                return conn.cursor()

            def invalidate(self) -> None:
                conn.invalidate()

            def close(self) -> None:
                conn.close()
                outer.closed.release()

        self.opened.release()
        return Counted()


def test_the_thread_ends_when_idle_or_stopped_and_a_commit_starts_another(
    tmp_path: Path,
) -> None:
    db = Database(sqlite_url(tmp_path))
    try:
        connections = _Connections(db)
        checkpointer = WalCheckpointer(connections, idle_s=0.05)
        checkpointer.nudge()
        assert connections.opened.acquire(timeout=10)
        assert connections.closed.acquire(timeout=10)  # idle: the thread ended
        checkpointer.nudge()
        assert connections.opened.acquire(timeout=10)  # the next commit: a new thread
        checkpointer.stop()
        assert connections.closed.acquire(timeout=0)  # stopped: joined, closed
    finally:
        db.dispose()


def test_a_stop_during_the_delay_after_a_commit_ends_the_thread_at_once(tmp_path: Path) -> None:
    """A stop that came while the thread waited out the delay after a nudge was lost
    (the loop cleared the nudge it set): ``dispose`` then waited out the idle time,
    5 s per server in the test suite."""
    db = Database(sqlite_url(tmp_path))
    try:
        connections = _Connections(db)
        checkpointer = WalCheckpointer(connections, idle_s=600)
        checkpointer.nudge()  # the thread now waits out the delay before checkpointing
        stopping = threading.Thread(target=checkpointer.stop)
        stopping.start()
        stopping.join(timeout=60)
        assert not stopping.is_alive(), "stop waited for the idle time"
    finally:
        db.dispose()
