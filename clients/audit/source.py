"""Where records and proofs come from: the only thing that differs between audit modes.

Nothing a source returns is trusted: records are recomputed, proofs are
verified against a checkpoint the ledger's key signed. A dishonest source can
make an audit fail, never pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from clients.audit.model import AuditRecord

BATCH = 2048


class RecordSource(Protocol):
    def checkpoint_note(self) -> str:
        """The newest signed checkpoint note, verbatim."""
        ...

    def batches(self, start: int, stop: int) -> Iterator[list[AuditRecord]]:
        """Records with ``start <= seq < stop`` in seq order, in batches."""
        ...

    def consistency_proof(self, first: int, second: int) -> list[bytes]: ...

    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...

    def close(self) -> None: ...


def batched(records: Iterator[AuditRecord], size: int = BATCH) -> Iterator[list[AuditRecord]]:
    batch: list[AuditRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
