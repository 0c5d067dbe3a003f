"""Witness cosignatures received for signed checkpoints (c2sp.org/tlog-cosignature).

One row per (checkpoint size, witness key name, witness key ID): a witness
that cosigns the same checkpoint again replaces its earlier line, so a note
never carries two lines of one key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    LargeBinary,
    String,
    Text,
    delete,
    insert,
    select,
)
from sqlmodel import Field, SQLModel

MAX_NAME_LENGTH = 256  # of a witness key name, in characters


class CosignatureRow(SQLModel, table=True):
    __tablename__ = "cosignature"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(MAX_NAME_LENGTH), primary_key=True))
    key_hash: bytes = Field(sa_column=Column(LargeBinary(4), primary_key=True))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    line: str = Field(sa_column=Column(Text, nullable=False))


_T = CosignatureRow.__table__  # type: ignore[attr-defined]


def put_cosignature(
    conn: Connection, size: int, name: str, key_hash: bytes, timestamp: int, line: str
) -> None:
    """Store ``line`` for ``size``, replacing an older line of the same witness key."""
    where = (_T.c.size == size) & (_T.c.name == name) & (_T.c.key_hash == key_hash)
    existing = conn.execute(select(_T.c.timestamp).where(where)).scalar()
    if existing is not None:
        if existing >= timestamp:
            return
        conn.execute(delete(_T).where(where))
    conn.execute(
        insert(_T),
        [{"size": size, "name": name, "key_hash": key_hash, "timestamp": timestamp, "line": line}],
    )


def cosignature_lines(conn: Connection, size: int) -> list[str]:
    """The stored lines for ``size`` in a stable order (by witness name, then key ID)."""
    rows = conn.execute(
        select(_T.c.line).where(_T.c.size == size).order_by(_T.c.name, _T.c.key_hash)
    ).all()
    return [str(r.line) for r in rows]
