"""Rows inserted as driver SQL: one ``executemany`` of plain tuples per table.

The sequencer appends thousands of records and Merkle nodes per group commit.
Through SQLAlchemy's ``insert(table)`` with a dict per row, every value of every
row goes through the column type's bind processor and the row through a dict
conversion: measured, as much time as SQLite took to store them. The values the
log writes are already what both drivers store unchanged (``int``, ``str``,
``bytes``), so a statement written once in the driver's own parameter style
and given tuples skips all of that. Errors are still SQLAlchemy's
(``IntegrityError``, ``DataError``), so a refused row is told the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Dialect, Table

# Positional placeholders by DB-API ``paramstyle`` (SQLite: qmark; psycopg: pyformat,
# which also takes ``%s`` with tuples).
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class UnsupportedDriverError(RuntimeError):
    """The database driver's parameter style has no positional placeholder here."""


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (...)`` for rows given as tuples in the
    order of ``columns``."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = [table.c[name] for name in columns]  # KeyError: not a column
        self._sql: dict[str, str] = {}

    def sql(self, dialect: Dialect) -> str:
        """The statement as ``dialect``'s driver takes it, built once per dialect."""
        sql = self._sql.get(dialect.name)
        if sql is None:
            try:
                mark = _PLACEHOLDER[dialect.paramstyle]
            except KeyError:
                raise UnsupportedDriverError(
                    f"no positional placeholder for paramstyle {dialect.paramstyle!r}"
                ) from None
            # Every name comes from the table's metadata, quoted by the dialect; values
            # travel only as parameters.
            quote = dialect.identifier_preparer
            names = ", ".join(quote.format_column(c) for c in self._columns)
            marks = ", ".join([mark] * len(self._columns))
            table = quote.format_table(self._table)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            self._sql[dialect.name] = sql
        return sql

    def run(self, conn: Connection, rows: list[tuple[object, ...]]) -> None:
        """Insert ``rows`` (inside the caller's transaction on ``conn``)."""
        if rows:
            conn.exec_driver_sql(self.sql(conn.dialect), rows)
