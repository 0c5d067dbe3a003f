"""Index-table writes held back and then run as one ``executemany`` per run of a statement.

A replay that answers the rules from memory (the auditor's) does not need its
writes to be visible at once, only in the end: executing each fact as its own
statement costs more than every other part of replaying it. Held back, the
writes of many entries go to the database together. Writes to one table keep
their order (an update may make room in a partial unique index for the insert
after it, as a deprecated footprint's product link does), and consecutive
writes of one statement to it run as one ``executemany``; writes to different
tables commute (the derived tables have no foreign keys or triggers), so each
table's writes run together, tables in the order they were first written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, FromClause
from sqlalchemy.sql.dml import ValuesBase

Row = dict[str, Any]
Statement = ValuesBase
"""An insert or update of one table, built once and reused for every row."""


class WriteBatch:
    """Writes to run on ``conn`` in :meth:`flush`, which also runs by itself once
    ``limit`` rows are held (so memory stays bounded)."""

    def __init__(self, conn: Connection, limit: int = 8192) -> None:
        self._conn = conn
        self._limit = limit
        self._tables: dict[FromClause, list[tuple[Statement, list[Row]]]] = {}
        self.rows = 0

    def add(self, statement: Statement, rows: list[Row]) -> None:
        """Queue ``statement`` once per row (rows of one statement share the same keys)."""
        runs = self._tables.setdefault(statement.table, [])
        if runs and runs[-1][0] is statement:
            runs[-1][1].extend(rows)
        else:
            runs.append((statement, list(rows)))
        self.rows += len(rows)
        if self.rows >= self._limit:
            self.flush()

    def flush(self) -> None:
        """Run everything queued (inside the caller's transaction on ``conn``)."""
        for runs in self._tables.values():
            for statement, rows in runs:
                self._conn.execute(statement, rows)
        self._tables.clear()
        self.rows = 0
