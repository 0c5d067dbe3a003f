"""The sequencer's driver SQL on both backends: rows inserted (``BulkInsert``) read back
exactly as given, a row the database refuses is told as SQLAlchemy's
``IntegrityError`` (the sequencer's "commit again in halves" relies on that) with
nothing of the statement left behind, and a look-up by a list of keys
(``SelectWhereIn``) finds exactly the stored ones."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.store.database import Database
from ledger.store.driver_sql import BulkInsert, SelectWhereIn, UnsupportedDriverError
from ledger.store.tables import MerkleNodeRow

_N = MerkleNodeRow.__table__  # type: ignore[attr-defined]
_INSERT = BulkInsert(_N, ("level", "idx", "hash"))
_BY_IDX = SelectWhereIn(_N, ("idx", "hash"), "idx")


def _stored(db: Database) -> list[tuple[int, int, bytes]]:
    with db.read() as conn:
        rows = conn.execute(select(_N.c.level, _N.c.idx, _N.c.hash).order_by(_N.c.idx)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_rows_read_back_as_given(db_url: str) -> None:
    db = Database(db_url)
    try:
        rows = [(0, i, bytes([i % 256]) * 31 + b"\x00") for i in range(300)]
        rows.append((62, 2**62, b"\x00" * 32))  # the largest values either column holds
        with db.write() as conn:
            _INSERT.run(conn, rows)
            _INSERT.run(conn, [])  # nothing to insert: no statement at all
        assert _stored(db) == rows
    finally:
        db.dispose()


def test_a_refused_row_raises_integrity_error_and_writes_nothing(db_url: str) -> None:
    db = Database(db_url)
    try:
        with pytest.raises(IntegrityError), db.write() as conn:
            _INSERT.run(conn, [(0, 1, b"a" * 32), (0, 2, None)])  # hash is NOT NULL
        assert _stored(db) == []
    finally:
        db.dispose()


def test_a_driver_without_positional_placeholders_is_named() -> None:
    class Named:
        name = "other"
        paramstyle = "named"

    with pytest.raises(UnsupportedDriverError, match="'named'"):
        _INSERT.sql(Named())  # type: ignore[arg-type]


def test_a_lookup_finds_exactly_the_stored_keys(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.write() as conn:
            _INSERT.run(conn, [(0, i, bytes([i]) * 32) for i in range(0, 40, 2)])
        with db.read() as conn:
            found = _BY_IDX.run(conn, [*range(10, 30), 999])
            assert sorted(tuple(row) for row in found) == [
                (i, bytes([i]) * 32) for i in range(10, 30, 2)
            ]
            assert _BY_IDX.run(conn, [1, 3]) == []
            assert _BY_IDX.run(conn, []) == []
    finally:
        db.dispose()
