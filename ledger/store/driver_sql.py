"""The sequencer's per-batch statements as driver SQL: rows inserted as one
``executemany`` of plain tuples per table, and a batch's entry ids looked up in one
``IN`` list.

The sequencer appends thousands of records and Merkle nodes per group commit.
Through SQLAlchemy's ``insert(table)`` with a dict per row, every value of every
row goes through the column type's bind processor and the row through a dict
conversion: measured, as much time as SQLite took to store them. The values the
log writes are already what both drivers store unchanged (``int``, ``str``,
``bytes``), so a statement written once in the driver's own parameter style
and given tuples skips all of that (and, for a look-up of a few thousand ids,
SQLAlchemy's expansion of the ``IN`` list on every call). Errors are still SQLAlchemy's
(``IntegrityError``, ``DataError``), so a refused row is told the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Row, Table

# Positional placeholders by DB-API ``paramstyle`` (SQLite: qmark; psycopg: pyformat,
# which also takes ``%s`` with tuples).
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def placeholder(dialect: Dialect) -> str:
    """The driver's positional placeholder."""
    try:
        return _PLACEHOLDER[dialect.paramstyle]
    except KeyError:
        raise UnsupportedDriverError(
            f"no positional placeholder for paramstyle {dialect.paramstyle!r}"
        ) from None


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
            mark = placeholder(dialect)
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


class SelectWhereIn:
    """``SELECT columns FROM table WHERE key IN (...)`` for a list of keys (the list's
    length bounded by the caller: the sequencer's batch size)."""

    def __init__(self, table: Table, columns: Sequence[str], key: str) -> None:
        self._table = table
        self._columns = [table.c[name] for name in columns]  # KeyError: not a column
        self._key = table.c[key]

    def run(self, conn: Connection, keys: Sequence[object]) -> list[Row[Any]]:
        """The rows whose key is one of ``keys`` (in no particular order)."""
        if not keys:
            return []
        quote = conn.dialect.identifier_preparer
        names = ", ".join(quote.format_column(c) for c in self._columns)
        table = quote.format_table(self._table)
        marks = ", ".join([placeholder(conn.dialect)] * len(keys))
        sql = f"SELECT {names} FROM {table} WHERE {quote.format_column(self._key)} IN ({marks})"  # noqa: S608
        return list(conn.exec_driver_sql(sql, tuple(keys)).all())
