"""Copying SQLite's write-ahead log into the database file, off the committing thread.

SQLite's automatic checkpoint runs inside the commit that fills the WAL past its limit,
so that commit (and every submission waiting on it) pays for copying every page written
since the last checkpoint into the database file and syncing it. As the indexes grow,
each commit dirties more distinct pages and that copy grows with the log. Here the writer's
automatic checkpoint is off (``PRAGMA wal_autocheckpoint=0`` on its connections) and a
thread of its own runs a ``PASSIVE`` checkpoint after commits, on its own connection: it
never blocks the writer or readers, and SQLite restarts the WAL from its beginning once
a checkpoint has copied it all.

Durability does not depend on this thread: a commit is in the WAL and synced
(``synchronous=FULL``) before it is acknowledged; a checkpoint only moves it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import PoolProxiedConnection

log = logging.getLogger(__name__)

# How long after a commit's nudge the checkpoint runs: the commit has finished writing by
# then, and under a steady stream of commits one checkpoint copies what several wrote (a
# page written by many commits is copied once). The WAL holds at most about this long's
# writes beyond what readers still need.
DELAY_S = 0.2


# A thread that has had no commit to follow for this long ends (the next commit starts
# another), so a store written once, or left open and forgotten, holds no thread.
IDLE_S = 5.0


class WalCheckpointer:
    """Checkpoints an SQLite database after commits, on a thread of its own that lives
    while commits come, with a connection from ``connect`` (opened as the store's others
    are, ``synchronous=FULL``)."""

    def __init__(
        self, connect: Callable[[], PoolProxiedConnection], *, idle_s: float = IDLE_S
    ) -> None:
        self._connect = connect
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Ask for a checkpoint soon (a commit is under way); nudges in between make one."""
        with self._lock:
            self._wake.set()
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="wal-checkpoint", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after a last checkpoint if it was running); a later commit
        starts another."""
        with self._lock:
            self._stopping.set()
            self._wake.set()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            self._stopping.clear()
            self._wake.clear()

    def _run(self) -> None:
        conn: PoolProxiedConnection | None = None
        try:
            while self._follow_commits():
                self._stopping.wait(DELAY_S)
                self._wake.clear()
                conn = self._checkpoint(conn)
            if not self._stopping.is_set():  # idle: copy the last commits' pages now
                self._checkpoint(conn)
        finally:
            if conn is not None:
                conn.close()

    def _follow_commits(self) -> bool:
        """Wait for a nudge: True to checkpoint, False to end the thread (stopping, or
        idle: then it is forgotten under the lock, so a later nudge starts another)."""
        # ``stop`` sets both events, but the loop may have cleared its nudge since.
        if not self._stopping.is_set() and self._wake.wait(self._idle_s):
            if not self._stopping.is_set():
                return True
        with self._lock:
            if self._wake.is_set() and not self._stopping.is_set():
                return True
            self._thread = None
            return False

    def _checkpoint(self, conn: PoolProxiedConnection | None) -> PoolProxiedConnection | None:
        """Run one checkpoint; the connection to use next time (None: open one then)."""
        try:
            conn = conn or self._connect()
            cursor = conn.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.fetchall()
            finally:
                cursor.close()
        except Exception as exc:  # the next commit's nudge tries again; nothing is lost
            log.warning("WAL checkpoint did not run: %s", exc)
            if conn is not None:
                conn.invalidate()
            return None
        return conn
