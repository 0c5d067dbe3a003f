"""SQLModel tables of the system of record.

``record`` holds each entry's exact bytes with its record fields;
``merkle_node`` holds the hash of every perfect subtree (about 2n rows), so
any root or proof at any tree size is O(log n) point look-ups and the server
never re-reads the log; ``checkpoint`` holds every signed tree head.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, SmallInteger, String, Text
from sqlmodel import Field, SQLModel

# The largest sequence number or tree size a BigInteger column holds. The gRPC
# contract's integers are uint64: a request beyond this names nothing stored,
# and is answered so without asking the database (which would raise).
BIGINT_MAX = 2**63 - 1


class RecordRow(SQLModel, table=True):
    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_leaf_hash", "leaf_hash"),
        # Entries of some types after a seq (the identity entries a process has not
        # applied yet: ``ledger.committed_identity``) without reading the others.
        Index("ix_record_type_seq", "entry_type", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    timestamp_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    entry_type: str = Field(sa_column=Column(String(64), nullable=False))
    org_id: str = Field(sa_column=Column(String(512), nullable=False, index=True))
    key_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    prev_chain_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    entry_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    chain_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MerkleNodeRow(SQLModel, table=True):
    __tablename__ = "merkle_node"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
