"""The replay's derived tables, written by the sequencer's own code, for comparison.

A full audit answers the rules' questions from memory (fast), and writes every
update through ``SqlCarbonView``, the very code the sequencer runs in its append
transaction, into a SQLite database: the audit state when there is one, else a
scratch file (on disk, so a log of 10⁶ entries is not held twice in memory).
The tables it fills are then what the log gives, to be compared with the
stored ones (``clients.audit.derived``). The writes go through the same
statements as the sequencer's; nothing here restates a column. They are held
back and run as one ``executemany`` per statement (``WriteBatch``): executed
one by one they cost more than the rest of the replay.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlmodel import SQLModel

from ledger.entries import Entry
from ledger.rules import (
    FactorFacts,
    FootprintFacts,
    GenerationSpan,
    GrantFacts,
    MemoryCarbonView,
    SerialSpan,
    SiteInput,
)
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.derived import derived_tables
from ledger.store.write_batch import WriteBatch


class ReplicaCarbonView(MemoryCarbonView):
    """Reads from memory; every update is applied to memory and to the tables on
    ``conn``, where it lands by :meth:`flush` at the latest."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._held = WriteBatch(conn)
        self.sql = SqlCarbonView(conn, self._held)

    def flush(self) -> None:
        """Write every update held back (call before reading the tables)."""
        self._held.flush()

    def add_footprint(self, facts: FootprintFacts) -> None:
        super().add_footprint(facts)
        self.sql.add_footprint(facts)

    def deprecate_footprint(self, footprint_id: str, seq: int) -> None:
        super().deprecate_footprint(footprint_id, seq)
        self.sql.deprecate_footprint(footprint_id, seq)

    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None:
        super().add_factor_set(set_id, version, seq, factors)
        self.sql.add_factor_set(set_id, version, seq, factors)

    def add_retirement(
        self, span: SerialSpan, seq: int, org_id: str, beneficiaries: tuple[str, ...] = ()
    ) -> None:
        super().add_retirement(span, seq, org_id, beneficiaries)
        self.sql.add_retirement(span, seq, org_id, beneficiaries)

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None:
        super().add_attestation(entry_id, footprint_id, seq, org_id)
        self.sql.add_attestation(entry_id, footprint_id, seq, org_id)

    def add_grant(self, facts: GrantFacts) -> None:
        super().add_grant(facts)
        self.sql.add_grant(facts)

    def revoke_grant(self, entry_id: str, seq: int) -> None:
        super().revoke_grant(entry_id, seq)
        self.sql.revoke_grant(entry_id, seq)

    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None:
        super().add_activity_batch(entry_id, org_id, seq)
        self.sql.add_activity_batch(entry_id, org_id, seq)

    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None:
        super().add_target(entry_id, seq, buyer, supplier)
        self.sql.add_target(entry_id, seq, buyer, supplier)

    def add_site(self, site: str, org_id: str, seq: int) -> None:
        super().add_site(site, org_id, seq)
        self.sql.add_site(site, org_id, seq)

    def add_site_input(self, site: str, facts: SiteInput) -> None:
        super().add_site_input(site, facts)
        self.sql.add_site_input(site, facts)

    def add_site_record(self, entry: Entry, seq: int, leaf_hash: bytes) -> None:
        super().add_site_record(entry, seq, leaf_hash)
        self.sql.add_site_record(entry, seq, leaf_hash)

    def add_generation_spans(self, site: str, seq: int, spans: tuple[GenerationSpan, ...]) -> None:
        super().add_generation_spans(site, seq, spans)
        self.sql.add_generation_spans(site, seq, spans)


def create_derived_tables(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn, tables=derived_tables())


class ScratchReplica:
    """A throw-away SQLite file holding the replay's derived tables (one transaction)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="carbonledger-replay-")
        self._engine = create_engine(f"sqlite:///{Path(self._dir.name) / 'replay.sqlite3'}")
        event.listen(self._engine, "connect", _fast)
        self.conn = self._engine.connect()
        self.conn.begin()
        create_derived_tables(self.conn)

    def view(self) -> ReplicaCarbonView:
        return ReplicaCarbonView(self.conn)

    def close(self) -> None:
        self.conn.close()
        self._engine.dispose()
        self._dir.cleanup()


def _fast(dbapi_conn: Any, _record: Any) -> None:
    """Nothing of a scratch file outlives the run: no durability is needed."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA journal_mode=MEMORY")
    cursor.close()
