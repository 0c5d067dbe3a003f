"""Records and proofs from a running ledger over gRPC, read as an ``auditor`` org."""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.audit.model import AuditRecord
from clients.audit.rpc import LedgerRpc
from clients.audit.source import batched


class GrpcSource:
    def __init__(self, target: str, org: str, key: Ed25519PrivateKey) -> None:
        self.rpc = LedgerRpc(target, org, key)

    def checkpoint_note(self) -> str:
        return self.rpc.checkpoint_note()

    def batches(self, start: int, stop: int) -> Iterator[list[AuditRecord]]:
        if start < stop:
            yield from batched(self.rpc.stream_entries(start, stop))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self.rpc.consistency_proof(first, second)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.rpc.inclusion_proof(index, size)

    def close(self) -> None:
        self.rpc.close()
