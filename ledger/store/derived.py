"""Which tables are derived from the log, found by reflection over the store's models.

Every table the ledger's store defines holds either the log itself (records,
Merkle nodes, signed checkpoints, witness cosignatures) or facts derived from
it by the sequencer in the append transaction. The derived ones can be
rebuilt from the log and must equal such a rebuild; audits and ``fsck`` compare
them all. They are found here by exclusion, so a table added to the store later
is compared without anyone listing it (other components' tables, such as the
gateway's clients, are not the ledger's and are left out).
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

import ledger.store.database  # noqa: F401  (registers every table of the store)

LOG_TABLES = frozenset({"record", "merkle_node", "checkpoint", "cosignature"})
"""The system of record: never derived, never rebuilt."""

_STORE_PACKAGE = "ledger."


def derived_tables() -> list[Table]:
    """Every derived table of the store, in a stable order (by name)."""
    tables = {
        mapper.local_table.name: mapper.local_table
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_.__module__.startswith(_STORE_PACKAGE)
        and isinstance(mapper.local_table, Table)
        and mapper.local_table.name not in LOG_TABLES
    }
    return [tables[name] for name in sorted(tables)]
