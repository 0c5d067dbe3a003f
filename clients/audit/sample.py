"""Already-audited records re-checked against the new checkpoint by inclusion proof.

An incremental audit reads only new records, and the consistency proof shows
the old tree is a prefix of the new one; but nothing then looks at the stored
old records, which readers are served. So each incremental audit draws a
random sample of them (unpredictable: an insider cannot know which will be
looked at), recomputes each one's leaf from its fields and entry bytes, and
proves it in the new signed tree. An edited or swapped entry gives another
leaf, whose proof fails, and the failure names its seq.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from clients.audit.model import AuditError, Check, Failure
from clients.audit.source import RecordSource
from ledger.merkle import MerkleError, verify_inclusion
from ledger.note import Checkpoint
from ledger.record import Record, entry_hash

DEFAULT_SAMPLE = 256


@dataclass
class SampleResult:
    seqs: list[int]
    failures: list[Failure]


def draw(audited: int, count: int | None) -> list[int]:
    """Every seq below ``audited`` when ``count`` covers them, else ``count`` at random."""
    wanted = DEFAULT_SAMPLE if count is None else count
    if wanted >= audited:
        return list(range(audited))
    return sorted(random.SystemRandom().sample(range(audited), wanted))


def check_sample(source: RecordSource, checkpoint: Checkpoint, seqs: list[int]) -> SampleResult:
    failures = []
    for seq in seqs:
        failure = _check_one(source, checkpoint, seq)
        if failure is not None:
            failures.append(failure)
    return SampleResult(seqs, failures)


def _check_one(source: RecordSource, checkpoint: Checkpoint, seq: int) -> Failure | None:
    found = [r for batch in source.batches(seq, seq + 1) for r in batch]
    if len(found) != 1 or found[0].seq != seq:
        return Failure(Check.SAMPLE, "already-audited record is gone from the log", seq)
    r = found[0]
    record = Record(
        r.seq, r.timestamp_us, r.prev_chain_hash, entry_hash(r.entry), r.key_id, r.signature
    )
    try:
        leaf = record.leaf_hash()
        proof = source.inclusion_proof(seq, checkpoint.size)
        verify_inclusion(leaf, seq, checkpoint.size, proof, checkpoint.root_hash)
    except (MerkleError, AuditError, ValueError, struct.error) as exc:
        return Failure(
            Check.SAMPLE,
            "already-audited record is not in the signed tree as read now (its entry bytes, "
            f"record fields or the stored proof nodes changed since it was audited): {exc}",
            seq,
        )
    return None
