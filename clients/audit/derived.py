"""Derived tables compared with their replay, row by row, keyed by primary key.

The stored database and the replay (a scratch SQLite file, or the audit
state) are read side by side, each in primary-key order a batch at a time, and
merged like sorted files: memory stays bounded by the batch whatever the
table's size. The order must be the same on both sides and in Python: strings
are ordered by code point, which is UTF-8 byte order, SQLite's default and
PostgreSQL's ``"C"`` collation (its default collation is the locale's).

Columns come from the store's models (``ledger.store.derived``), so columns
and tables added later are compared without change here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, Table, select
from sqlalchemy.sql.elements import ColumnElement

from ledger.store.stored_types import unchecked

BATCH = 2000

Row = dict[str, Any]


@dataclass(frozen=True)
class RowDifference:
    """One primary key whose rows differ: absent on one side, or with other values."""

    table: str
    key: dict[str, Any]
    stored: Row | None  # None: missing from the database
    replayed: Row | None  # None: an extra row the log does not give

    @property
    def columns(self) -> list[str]:
        if self.stored is None or self.replayed is None:
            return []
        return [c for c in self.replayed if self.stored.get(c) != self.replayed[c]]

    def key_text(self) -> str:
        return ", ".join(f"{k}={_show(v)}" for k, v in self.key.items())

    def __str__(self) -> str:
        where = f"table {self.table}, key ({self.key_text()})"
        if self.stored is None:
            return f"{where}: row missing from the database (the log gives it)"
        if self.replayed is None:
            return f"{where}: extra row the log does not give"
        stored, replayed = self.stored, self.replayed
        return f"{where}: " + "; ".join(
            f"column {c}: stored {_show(stored.get(c))}, replay {_show(replayed[c])}"
            for c in self.columns
        )


def _show(value: Any) -> str:
    return value.hex() if isinstance(value, bytes) else repr(value)


def _ordered(conn: Connection, table: Table, *, as_stored: bool = False) -> Iterator[Row]:
    """``table``'s rows in key order; ``as_stored``: each value as the database holds it,
    so one of another type (``CorruptIndexError`` to the servers) is a difference to name
    and repair, not an error."""
    keys: list[ColumnElement[Any]] = []
    for column in table.primary_key.columns:
        binary = conn.dialect.name == "postgresql" and isinstance(column.type, String)
        keys.append(column.collate("C") if binary else column)
    columns = [unchecked(c) if as_stored else c for c in table.columns]
    query = select(*columns).order_by(*keys).execution_options(yield_per=BATCH)
    for row in conn.execute(query):
        yield {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row._mapping.items()}


def _in_sql_order(value: Any) -> tuple[int, Any]:
    """A key value as SQLite orders it when an insider stored one of another type in a
    key column: numbers, then text, then blobs (one type only, on PostgreSQL)."""
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, str):
        return 2, value
    return 3, value


def compare_table(
    stored: Connection, replayed: Connection, table: Table
) -> Iterator[RowDifference]:
    """Every difference between ``table`` in the database and in the replay, in key order."""
    names = [c.name for c in table.primary_key.columns]

    def key(row: Row) -> tuple[tuple[int, Any], ...]:
        return tuple(_in_sql_order(row[n]) for n in names)

    def difference(at: Row, have: Row | None, want: Row | None) -> RowDifference:
        return RowDifference(table.name, {n: at[n] for n in names}, have, want)

    ours, theirs = _ordered(replayed, table), _ordered(stored, table, as_stored=True)
    want, have = next(ours, None), next(theirs, None)
    while want is not None or have is not None:
        if have is None or (want is not None and key(want) < key(have)):
            assert want is not None
            yield difference(want, None, want)
            want = next(ours, None)
        elif want is None or key(have) < key(want):
            yield difference(have, have, None)
            have = next(theirs, None)
        else:
            if want != have:
                yield difference(want, have, want)
            want, have = next(ours, None), next(theirs, None)


def compare_tables(
    stored: Connection, replayed: Connection, tables: Sequence[Table]
) -> Iterator[RowDifference]:
    for table in tables:
        yield from compare_table(stored, replayed, table)
