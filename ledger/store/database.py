"""Database engines for the embedded SQLite default and for PostgreSQL.

Writes are serialised across every process sharing the database: SQLite by
``BEGIN IMMEDIATE`` (the write lock is taken before the first read, so the
sequencer reads the tree head it will extend), PostgreSQL by a
transaction-scoped advisory lock. Two ``serve`` processes on one database
therefore never fork or gap the log. SQLite runs in WAL mode with
``synchronous=FULL`` so a commit is on disk before a submission is
acknowledged, and readers do not wait for the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateIndex
from sqlmodel import SQLModel

import ledger.store.cosignature_table  # noqa: F401  (registers the table)
from ledger.store import index_tables, tables  # noqa: F401  (registers the tables)
from ledger.store.wal_checkpoint import WalCheckpointer

# An arbitrary constant naming the sequencer's PostgreSQL advisory lock.
SEQUENCER_LOCK_ID = 0x63617262  # "carb"


class DatabaseUnavailableError(RuntimeError):
    """The configured database cannot be reached or opened."""


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'ledger.sqlite3'}"


class Database:
    """A store URL opened for reading and for sequenced writing."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._checkpointer: WalCheckpointer | None = None
        if self.is_sqlite:
            self.read_engine = sqlite_engine(url, writer=False)
            self.write_engine = sqlite_engine(url, writer=True)
            checkpointer = WalCheckpointer(self.read_engine.raw_connection)
            event.listen(self.write_engine, "commit", lambda _conn: checkpointer.nudge())
            self._checkpointer = checkpointer
        else:
            self.read_engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.write_engine = self.read_engine
        try:
            SQLModel.metadata.create_all(self.write_engine)
            _create_missing_indexes(self.write_engine)
        except OperationalError as exc:
            raise DatabaseUnavailableError(
                f"cannot open the database at {_redacted(url)}: {exc.orig}"
            ) from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction holding the sequencer lock; commits on success."""
        with self.write_engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SEQUENCER_LOCK_ID})
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.read_engine.dispose()
        self.write_engine.dispose()


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# The writer's page cache (SQLite's default is 2 MiB): the indexes keyed by random ids
# (entry ids, leaf hashes, footprint ids) take a leaf page per insert once they are large,
# and a group commit of a thousand entries would otherwise read most of them back.
WRITER_CACHE_KIB = 65536


def sqlite_engine(url: str, *, writer: bool, timeout_s: int = 60, **engine_args: Any) -> Engine:
    """An engine on the SQLite store; every connection of the ledger's and the gateway's
    is opened here, so each reads the store the same way. The ``writer``'s transactions
    take the write lock first (``BEGIN IMMEDIATE``), its commits leave the WAL to a
    ``WalCheckpointer``, and it has a larger page cache."""
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": timeout_s}, **engine_args
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        # A value stored as TEXT that is not UTF-8 (a binary column an insider cast with
        # CAST(... AS TEXT)) comes back as a str with surrogate escapes, which the
        # verified reads refuse as tampering, instead of failing the whole query.
        dbapi_conn.text_factory = _lenient_text
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={timeout_s * 1000}")
        if writer:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def _redacted(url: str) -> str:
    """The URL without any password, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _create_missing_indexes(engine: Engine) -> None:
    """Indexes added to an existing table by a later release (``create_all`` creates only
    the indexes of tables it creates): additive upgrades need no migration step."""
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
