"""Column types of the derived tables that refuse, when read, a value of another type.

SQLite stores what it is given: a ``BIGINT`` column holds ``'abc'`` if an insider
writes it, and a ``BLOB`` column text. Read back, such a value failed deep inside a
reader (a ``KeyError`` on a grant level, a ``TypeError`` comparing seqs): a 500 with a
traceback and health green. Every column of a derived table is wrapped here so the
value is refused as it comes out of the database, as ``CorruptIndexError`` naming the
column, which the servers answer as the integrity alarm. PostgreSQL's columns hold
only their type, so there the check never fires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Dialect, Integer, LargeBinary, String, Table, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from ledger.errors import CorruptIndexError

# What each column type's values are as the drivers return them (psycopg returns bytes
# for bytea). Booleans are left as they are: SQLite's are read as ``bool(value)``, which
# no value fails, and a wrapped one would compile ``IS true`` to a bind PostgreSQL refuses.
_STORED_AS: list[tuple[type[TypeEngine[Any]], tuple[type, ...]]] = [
    (Integer, (int,)),  # BigInteger too
    (LargeBinary, (bytes, memoryview)),
    (String, (str,)),
]


class CheckedType(TypeDecorator[Any]):
    """``impl``, except that reading a value of another type raises ``CorruptIndexError``."""

    impl: TypeEngine[Any] | type[TypeEngine[Any]] = TypeEngine
    cache_ok = True

    def __init__(self, inner: TypeEngine[Any], column: str, stored_as: tuple[type, ...]):
        super().__init__()
        self.impl = self.inner = inner
        self.column = column
        self.stored_as = stored_as

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        inner = self.inner.result_processor(dialect, coltype)
        column, stored_as = self.column, self.stored_as

        def process(value: Any) -> Any:
            if value is not None and not isinstance(value, stored_as):
                raise CorruptIndexError(column, value)
            return value if inner is None else inner(value)

        return process


def check_stored_types(table: Table) -> None:
    """Wrap each column of ``table`` whose type is one of the stored kinds above (every
    column but booleans)."""
    for column in table.columns:
        if isinstance(column.type, CheckedType):
            continue
        for kind, stored_as in _STORED_AS:
            if isinstance(column.type, kind):
                column.type = CheckedType(column.type, f"{table.name}.{column.name}", stored_as)
                break


def unchecked(column: Column[Any]) -> ColumnElement[Any]:
    """``column`` read as the database holds it, for comparing with a replay (``audit
    --db``, ``fsck``), where a value of another type is a difference to report. (A
    boolean, never checked, is read as one.)"""
    if not isinstance(column.type, CheckedType):
        return column
    return type_coerce(column, NullType()).label(column.name)
