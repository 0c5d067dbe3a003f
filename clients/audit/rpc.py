"""The few ledger RPCs auditors and witnesses use, on the generated stub.

Separate from the submitting SDK so the verification tools depend on as
little as possible: a channel, the org key for request tokens, and the
public read methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.audit.model import AuditError, AuditRecord, ReadRefused
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.read.access import WHOLE_LOG_METADATA
from ledger.request_token import METADATA_KEY, make_token

SERVICE = "carbonledger.v1.Ledger"


def record_from_pb(msg: Any) -> AuditRecord:
    return AuditRecord(
        int(msg.seq),
        int(msg.timestamp_us),
        bytes(msg.entry),
        bytes(msg.key_id),
        bytes(msg.signature),
        bytes(msg.prev_chain_hash),
        bytes(msg.leaf_hash),
        bytes(msg.chain_hash),
    )


class LedgerRpc:
    """A channel to one ledger; ``org``/``key`` are needed only for reading entries."""

    def __init__(
        self,
        target: str,
        org: str | None = None,
        key: Ed25519PrivateKey | None = None,
        *,
        timeout: float = 60.0,
    ) -> None:
        self.org, self.key, self.timeout = org, key, timeout
        self._channel = grpc.insecure_channel(target)
        self._stub = pb_grpc.LedgerStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def _call(self, what: str, method: str, request: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout, **kwargs)
        except grpc.RpcError as exc:
            raise AuditError(f"{what}: {exc.code().name}: {exc.details()}") from exc

    def checkpoint_note(self) -> str:
        return str(
            self._call("fetching the checkpoint", "GetCheckpoint", pb.GetCheckpointRequest()).note
        )

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        request = pb.GetConsistencyProofRequest(first=first, second=second)
        reply = self._call(f"consistency proof {first}->{second}", "GetConsistencyProof", request)
        return [bytes(h) for h in reply.hashes]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        request = pb.GetInclusionProofRequest(seq=index, tree_size=size)
        reply = self._call(f"inclusion proof {index} in {size}", "GetInclusionProof", request)
        return [bytes(h) for h in reply.hashes]

    def add_cosignature(self, size: int, signature_line: str) -> None:
        request = pb.AddCosignatureRequest(size=size, signature_line=signature_line)
        self._call("submitting the cosignature", "AddCosignature", request)

    def stream_entries(self, start: int, stop: int) -> Iterator[AuditRecord]:
        """Every record in ``start..stop``; ``ReadRefused`` when the ledger will not
        show all of them to ``org`` (it would otherwise leave out what the org may
        not see, and the gaps would look like records withheld)."""
        if self.org is None or self.key is None:
            raise AuditError("reading entries needs an org and its key")
        token = make_token(self.key, self.org, f"/{SERVICE}/StreamEntries")
        request = pb.StreamEntriesRequest(from_seq=start, to_seq=stop)
        try:
            for msg in self._stub.StreamEntries(
                request, metadata=[(METADATA_KEY, f"Bearer {token}"), WHOLE_LOG_METADATA]
            ):
                yield record_from_pb(msg)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise ReadRefused(
                    f"the ledger refused to show the whole log to {self.org} (PERMISSION_DENIED: "
                    f"{exc.details()}); audit as an org enrolled with the auditor role"
                ) from exc
            raise AuditError(f"streaming entries: {exc.code().name}: {exc.details()}") from exc
