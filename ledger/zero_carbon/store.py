"""A ``SiteReader`` over the ledger's database: the sequencer's site rows (through its
own ``SqlCarbonView``) and records fetched by seq.

Records are read as stored. A server that serves the evaluation to callers who
verify should build its ``SiteReader`` with a ``record`` that goes through its
verified reads (``ledger.read.verified``) instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Connection

from ledger.entries import parse_entry
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.log import record_at
from ledger.zero_carbon.gather import RecordedEntry, SiteReader


def stored_entries(conn: Connection) -> Callable[[int], RecordedEntry]:
    """The entry recorded at a seq on ``conn``, parsed (readings included)."""

    def record(seq: int) -> RecordedEntry:
        stored = record_at(conn, seq)
        if stored is None:
            raise LookupError(f"no record at seq {seq}")
        return RecordedEntry(parse_entry(json.loads(stored.entry)), seq, stored.leaf_hash)

    return record


def store_reader(conn: Connection, below: int | None = None) -> SiteReader:
    """A ``SiteReader`` over ``conn`` (seen as of log size ``below``, when given)."""
    return SiteReader(SqlCarbonView(conn), stored_entries(conn), below)
