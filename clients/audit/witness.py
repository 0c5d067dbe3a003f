"""A witness: remembers the newest checkpoint it has seen and cosigns only consistent ones.

A witness defeats split views: the ledger cannot show one history to some and
another to others without one of them failing a consistency proof against
a checkpoint a witness has already cosigned. So it refuses, and keeps its
state unchanged, on any checkpoint that is not signed by the ledger key or
does not extend the one it saved (a smaller tree, or a proof that fails).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clients.audit.checkpoints import CheckpointFailure, check_consistent, open_signed
from clients.audit.model import StateError
from clients.audit.state import read_json, write_json_atomically
from ledger.note import Checkpoint, CosignatureSigner, NoteVerifier

WITNESS_STATE = "witness-state.json"


class WitnessRefusal(Exception):
    """The witness will not cosign this checkpoint; ``reason`` says why."""


@dataclass(frozen=True)
class WitnessState:
    size: int
    root_hash: bytes
    note: str


def load_witness_state(directory: Path) -> WitnessState | None:
    data = read_json(directory / WITNESS_STATE)
    if data is None:
        return None
    try:
        return WitnessState(int(data["size"]), bytes.fromhex(data["root_hash"]), str(data["note"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"witness state is unreadable: {exc!r}") from exc


def save_witness_state(directory: Path, state: WitnessState) -> None:
    write_json_atomically(
        directory / WITNESS_STATE,
        {"size": state.size, "root_hash": state.root_hash.hex(), "note": state.note},
    )


@dataclass(frozen=True)
class Cosigned:
    checkpoint: Checkpoint
    line: str
    previous_size: int | None


def witness_checkpoint(
    note: str,
    ledger: NoteVerifier,
    saved: WitnessState | None,
    consistency_proof: Callable[[int, int], Sequence[bytes]],
    signer: CosignatureSigner,
    now: int,
) -> Cosigned:
    """Verify ``note`` against the ledger key and the saved state, and cosign it at ``now``.

    Raises :class:`WitnessRefusal` (and cosigns nothing) when it does not hold.
    """
    try:
        checkpoint = open_signed(note, ledger)
        if saved is not None:
            check_consistent(saved.size, saved.root_hash, checkpoint, consistency_proof)
    except CheckpointFailure as exc:
        raise WitnessRefusal(exc.failure.reason) from None
    line = signer.cosign(checkpoint.to_text(), now)
    return Cosigned(checkpoint, line, saved.size if saved else None)
