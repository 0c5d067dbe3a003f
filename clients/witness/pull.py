"""Witnessing by pulling: fetch the ledger's checkpoint over gRPC, run it through the
same :class:`~clients.witness.core.Witness` as ``add-checkpoint`` requests, and push
the cosignature back with ``AddCosignature``.

For ledgers that do not push to the witness (``serve --witness VKEY`` without a
URL). The request is built as the ledger's pusher would: old size from the
witness's own state, the consistency proof from the ledger. Both paths share one
state store, so a witness may be pulled and pushed to without ever rolling back.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.audit.rpc import LedgerRpc
from clients.witness.core import MalformedRequestError, Witness
from ledger.note import Checkpoint, NoteError, note_text
from ledger.note.tlog_witness import AddCheckpointRequest


@dataclass(frozen=True)
class Pulled:
    """A checkpoint cosigned; ``previous_size`` is what it was proven to extend (0: the
    first checkpoint of this log the witness cosigned)."""

    size: int
    previous_size: int


def pull_once(rpc: LedgerRpc, witness: Witness) -> Pulled:
    """Cosign the ledger's current checkpoint and hand the cosignature to the ledger.

    Raises the core's :class:`~clients.witness.core.WitnessError` when the witness
    refuses (nothing is stored or sent), ``AuditError`` when the ledger fails.
    """
    note = rpc.checkpoint_note()
    try:
        checkpoint = Checkpoint.parse(note_text(note))
    except NoteError as exc:
        raise MalformedRequestError(f"the ledger served no checkpoint note: {exc}") from None
    latest = witness.store.latest(checkpoint.origin)
    old = 0 if latest is None else latest.size
    proof = rpc.consistency_proof(old, checkpoint.size) if 0 < old < checkpoint.size else []
    lines = witness.add_checkpoint(AddCheckpointRequest(old, tuple(proof), note))
    for line in lines:
        rpc.add_cosignature(checkpoint.size, line)
    return Pulled(checkpoint.size, old)
