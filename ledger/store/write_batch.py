"""Index-table writes held back and then run as one ``executemany`` per statement.

A replay that answers the rules from memory (the auditor's) does not need its
writes to be visible at once, only in the end: executing each fact as its own
statement costs more than every other part of replaying it. Held back, the
writes of a whole batch of entries go to the database as one ``executemany``
per statement, the inserts first (in order within each table) and then the
updates (in order). That ends in the same rows as executing them one by one,
because every update names a row by a unique key inserted before it and no
insert re-creates a row an update matched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, Insert

Row = dict[str, Any]


class WriteBatch:
    """Statements with their parameter rows, to run on ``conn`` in :meth:`flush`, which
    also runs by itself once ``limit`` rows are held (so memory stays bounded)."""

    def __init__(self, conn: Connection, limit: int = 8192) -> None:
        self._conn = conn
        self._limit = limit
        self._inserts: dict[Executable, list[Row]] = {}
        self._updates: dict[Executable, list[Row]] = {}
        self.rows = 0

    def add(self, statement: Executable, rows: list[Row]) -> None:
        """Queue ``statement`` once per row (a statement object that is reused, so
        the rows of one kind of write share one list)."""
        held = self._inserts if isinstance(statement, Insert) else self._updates
        held.setdefault(statement, []).extend(rows)
        self.rows += len(rows)
        if self.rows >= self._limit:
            self.flush()

    def flush(self) -> None:
        """Run everything queued (inside the caller's transaction on ``conn``)."""
        for held in (self._inserts, self._updates):
            for statement, rows in held.items():
                self._conn.execute(statement, rows)
            held.clear()
        self.rows = 0
