"""Checks 1, 5 and 6: the signed checkpoint (and, given a C2SP tlog-policy, its witness
quorum), the root of what was read, and consistency.

Kept apart from the record replay because a witness needs exactly these
checks and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from clients.audit.model import AuditError, Check, Failure
from ledger.merkle import MerkleError, verify_consistency, verify_inclusion
from ledger.note import (
    Checkpoint,
    NoteError,
    NoteVerifier,
    PolicyNotSatisfiedError,
    open_checkpoint,
)
from ledger.note.tlog_policy import TlogPolicy


class CheckpointFailure(Exception):
    """A checkpoint that does not verify, or is not consistent with an earlier one."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def open_signed(note: str, verifier: NoteVerifier) -> Checkpoint:
    """Check 1: the note verifies under the pinned ledger key and names its origin."""
    try:
        return open_checkpoint(note, verifier)
    except NoteError as exc:
        raise CheckpointFailure(
            Failure(
                Check.CHECKPOINT_SIGNATURE,
                f"checkpoint is not signed by the pinned ledger key {verifier.name}: {exc}",
            )
        ) from None


def check_policy(note: str, policy: TlogPolicy, verifier: NoteVerifier) -> tuple[str, ...]:
    """Check 1 with a policy: ``note`` is signed by a log of ``policy`` (the pinned key
    when it lists none) and cosigned by its quorum; return the cosigners' names. The
    refusal names what is missing (``TlogPolicy.check``): a verifier acting on it knows
    which witnesses to ask, or that the checkpoint was never witnessed at all."""
    try:
        return policy.check(note, [verifier])
    except PolicyNotSatisfiedError as exc:
        reason = f"the checkpoint does not satisfy the witness policy: {exc}"
    except NoteError as exc:
        reason = f"the checkpoint's signatures do not verify: {exc}"
    raise CheckpointFailure(Failure(Check.WITNESS_POLICY, reason))


def check_consistent(
    old_size: int,
    old_root: bytes,
    new: Checkpoint,
    proof: Callable[[int, int], Sequence[bytes]],
) -> None:
    """Check 6: ``new`` extends the tree (old_size, old_root) seen before.

    ``proof`` fetches the RFC 9162 consistency proof; a smaller new tree is a
    rollback and fails without one.
    """
    if new.size < old_size:
        raise CheckpointFailure(
            Failure(
                Check.CONSISTENCY,
                f"checkpoint size {new.size} is smaller than the checkpoint of size "
                f"{old_size} seen before: the log was truncated or rolled back",
            )
        )
    if old_size == 0:
        return
    try:
        hashes = [] if new.size == old_size else list(proof(old_size, new.size))
        verify_consistency(old_size, new.size, hashes, old_root, new.root_hash)
    except MerkleError as exc:
        raise CheckpointFailure(
            Failure(
                Check.CONSISTENCY,
                f"checkpoint of size {new.size} is not consistent with the checkpoint of size "
                f"{old_size} seen before (a rewritten or forked history): {exc}",
            )
        ) from None


def first_leaf_not_in(
    leaf_hashes: Sequence[bytes],
    first_seq: int,
    checkpoint: Checkpoint,
    proof: Callable[[int, int], Sequence[bytes]],
) -> int | None:
    """The lowest seq whose recomputed leaf is not in the signed tree, found by bisection.

    Used only after the root did not match, to name a record instead of just
    "the root differs": O(log n) inclusion proofs, each verified against the
    signed root, so the answer does not depend on trusting the proof source.
    Assumes the leaves before the first bad one are all good (true for an
    edit, a deletion or a re-append; for anything else the seq named is still
    one that is not in the signed tree).
    """

    def included(i: int) -> bool:
        seq = first_seq + i
        if seq >= checkpoint.size:
            return False
        try:
            verify_inclusion(
                leaf_hashes[i],
                seq,
                checkpoint.size,
                proof(seq, checkpoint.size),
                checkpoint.root_hash,
            )
        except (MerkleError, LookupError, AuditError):
            return False
        return True

    lo, hi = 0, len(leaf_hashes)
    if hi == 0 or included(hi - 1):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if included(mid):
            lo = mid + 1
        else:
            hi = mid
    return first_seq + lo
