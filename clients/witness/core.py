"""What a c2sp.org/tlog-witness answers to ``add-checkpoint``, without the transport.

The checks run in the spec's order, each failing with its own exception (the
HTTP server maps them to status codes, ``clients.witness.server``):

1. a body that does not parse, or an old size above the checkpoint's: 400;
2. an origin the witness does not witness: 404;
3. no signature by a trusted key of that origin: 403 (other signatures ignored);
4. an old size other than the latest cosigned one: 409 with that size;
5. the same size as the latest cosigned but another root: 409 (a fork);
6. a consistency proof that does not verify from the latest cosigned: 422.

Checks 4 to 6 and storing the new checkpoint happen under the state's write
lock (``WitnessStore.update``), and the cosignature is made only once the new
checkpoint is committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from clients.witness.state import CosignedCheckpoint, WitnessStore
from ledger.merkle import MerkleError, verify_consistency
from ledger.note import Checkpoint, CosignatureSigner, NoteError, NoteVerifier, note_text, open_note
from ledger.note.tlog_witness import AddCheckpointRequest

MAX_TREE_SIZE = 2**63 - 1
"""The largest size the state keeps (an SQLite integer); the ledger's own sizes are
far below it, and a larger one, however well signed, is refused with 400."""


class WitnessError(Exception):
    """The witness does not cosign; the subclass says why (and which status it is)."""


class MalformedRequestError(WitnessError):
    """400: the body does not follow the spec, or its old size exceeds the checkpoint's."""


class UnknownOriginError(WitnessError):
    """404: the checkpoint's origin is not a log this witness witnesses."""


class UntrustedCheckpointError(WitnessError):
    """403: no signature on the checkpoint verifies with a key trusted for its origin."""


class OldSizeMismatchError(WitnessError):
    """409: the old size is not the latest cosigned size, ``latest_size``."""

    def __init__(self, old_size: int, latest_size: int) -> None:
        super().__init__(
            f"old size {old_size} is not the size this witness last cosigned, {latest_size}"
        )
        self.latest_size = latest_size


class RootMismatchError(WitnessError):
    """409: the checkpoint has the latest cosigned size but another root hash."""


class InconsistentCheckpointError(WitnessError):
    """422: the consistency proof from the latest cosigned checkpoint does not verify."""


class Witness:
    """Cosigns checkpoints of the logs it knows that extend what it cosigned before."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Sequence[NoteVerifier],
        store: WitnessStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``logs``: the log keys; each witnesses the origin its key name gives (several
        keys may share an origin, e.g. during a key rotation)."""
        self.signer = signer
        self.store = store
        self._clock = clock
        self._keys: dict[str, list[NoteVerifier]] = {}
        for key in logs:
            self._keys.setdefault(key.name, []).append(key)

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def add_checkpoint_body(self, body: bytes) -> list[str]:
        """Parse an ``add-checkpoint`` body, then :meth:`add_checkpoint`."""
        try:
            request = AddCheckpointRequest.parse(body)
        except NoteError as exc:
            raise MalformedRequestError(str(exc)) from None
        return self.add_checkpoint(request)

    def add_checkpoint(self, request: AddCheckpointRequest) -> list[str]:
        """The cosignature lines (with newlines) for the request's checkpoint, once stored
        as the latest cosigned for its origin; raises a :class:`WitnessError` otherwise."""
        checkpoint = self._trusted(request.note)
        if checkpoint.size > MAX_TREE_SIZE:
            raise MalformedRequestError(
                f"a checkpoint size above {MAX_TREE_SIZE} (2^63-1) cannot be witnessed here"
            )
        if request.old_size > checkpoint.size:
            raise MalformedRequestError(
                f"old size {request.old_size} exceeds the checkpoint's size {checkpoint.size}"
            )
        if request.old_size == 0 and request.proof:
            raise MalformedRequestError("the consistency proof must be empty when old size is 0")
        with self.store.update(checkpoint.origin) as (latest, save):
            _check_extends(latest, request, checkpoint)
            save(CosignedCheckpoint(checkpoint.size, checkpoint.root_hash, request.note))
        return [self.signer.cosign(checkpoint.to_text(), int(self._clock()))]

    def _trusted(self, note: str) -> Checkpoint:
        """The checkpoint of ``note`` if a key trusted for its origin signed it."""
        try:
            checkpoint = Checkpoint.parse(note_text(note))
        except NoteError as exc:
            raise MalformedRequestError(f"not a checkpoint note: {exc}") from None
        keys = self._keys.get(checkpoint.origin)
        if keys is None:
            raise UnknownOriginError(f"this witness does not witness {checkpoint.origin!r}")
        try:
            open_note(note, keys)
        except NoteError as exc:
            raise UntrustedCheckpointError(
                f"no signature by a key trusted for {checkpoint.origin!r} verifies: {exc}"
            ) from None
        return checkpoint


def _check_extends(
    latest: CosignedCheckpoint | None, request: AddCheckpointRequest, checkpoint: Checkpoint
) -> None:
    """Checks 4 to 6 of the module docstring, against the stored ``latest``."""
    latest_size = 0 if latest is None else latest.size
    if request.old_size != latest_size:
        raise OldSizeMismatchError(request.old_size, latest_size)
    if latest is None or latest.size == 0:
        return
    if checkpoint.size == latest.size and checkpoint.root_hash != latest.root_hash:
        raise RootMismatchError(
            f"a checkpoint of size {latest.size} with another root hash was cosigned: "
            "the log has forked"
        )
    try:
        verify_consistency(
            latest.size, checkpoint.size, request.proof, latest.root_hash, checkpoint.root_hash
        )
    except MerkleError as exc:
        raise InconsistentCheckpointError(
            f"the consistency proof from size {latest.size} to {checkpoint.size} "
            f"does not verify: {exc}"
        ) from None
