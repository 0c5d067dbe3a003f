"""Records and proofs read straight from a ledger database, for offline audits.

The database is read, never written (the schema is created only if absent,
as for any reader of the store). Proofs come from the stored Merkle nodes,
which an insider may have altered too; they are verified like any other.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError

from clients.audit.model import AuditError, AuditRecord
from clients.audit.source import batched
from ledger.store.database import Database
from ledger.store.log import LogStore, StoredRecord


def from_stored(r: StoredRecord) -> AuditRecord:
    return AuditRecord(
        r.seq,
        r.timestamp_us,
        r.entry,
        r.key_id,
        r.signature,
        r.prev_chain_hash,
        r.leaf_hash,
        r.chain_hash,
    )


class DbSource:
    def __init__(self, url: str) -> None:
        try:
            self.db = Database(url)
        except Exception as exc:
            raise AuditError(f"cannot open the database: {exc}") from None
        self.store = LogStore(self.db)

    def checkpoint_note(self) -> str:
        latest = self.store.latest_checkpoint()
        if latest is None:
            raise AuditError("the database holds no signed checkpoint")
        return latest.note

    def batches(self, start: int, stop: int) -> Iterator[list[AuditRecord]]:
        try:
            yield from batched(from_stored(r) for r in self.store.records(start, stop))
        except SQLAlchemyError as exc:
            raise AuditError(f"reading records failed: {exc}") from None

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        try:
            return self.store.consistency_proof(first, second)
        except LookupError as exc:
            raise AuditError(f"no consistency proof {first}->{second}: {exc}") from None

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        try:
            return self.store.inclusion_proof(index, size)
        except LookupError as exc:
            raise AuditError(f"no inclusion proof for {index} in {size}: {exc}") from None

    def close(self) -> None:
        self.db.dispose()
