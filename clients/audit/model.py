"""What the auditor checks and what it reports, independent of where records come from.

A record is the eight fields every source can supply (gRPC stream, database
rows, a file): the auditor recomputes everything else (entry hash, leaf,
chain link, Merkle root) itself, so no stored derived value is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record as a source presents it; ``leaf_hash``/``chain_hash`` are the source's claims."""

    seq: int
    timestamp_us: int
    entry: bytes
    key_id: bytes
    signature: bytes
    prev_chain_hash: bytes
    leaf_hash: bytes
    chain_hash: bytes


class Check(StrEnum):
    """The numbered checks of an audit (see docs/audit.md)."""

    CHECKPOINT_SIGNATURE = "checkpoint-signature"  # 1
    WITNESS_POLICY = "witness-policy"  # 1, with --policy: the log key and witness quorum
    RECORD = "record"  # 2: canonical bytes, leaf, chain link
    SEQUENCE = "sequence"  # 2: no gaps, no duplicates
    SIGNATURE = "signature"  # 3
    AUTHORITY = "authority"  # 4 and 7 (serials are one of the sequencer's rules)
    MERKLE_ROOT = "merkle-root"  # 5
    CONSISTENCY = "consistency"  # 6
    STATE = "state"  # the saved state itself is unusable
    DERIVED = "derived-table"  # 9: a derived table differs from its replay
    MERKLE_NODE = "merkle-node"  # 9: a stored Merkle node differs from its recomputation
    SAMPLE = "sample"  # 10: an already-audited record no longer proves in the new tree
    SERVED = "served-view"  # 11: the gateway serves a footprint other than the log gives
    SERVED_EVALUATION = "served-evaluation"  # 12: a zero-carbon evaluation served otherwise


@dataclass(frozen=True, slots=True)
class Failure:
    """One thing that does not hold; ``seq`` is None when no single record is to blame."""

    check: Check
    reason: str
    seq: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"check": self.check.value, "seq": self.seq, "reason": self.reason}

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "log"
        return f"[{self.check.value}] {where}: {self.reason}"


class AuditError(Exception):
    """The audit could not be carried out at all (unreachable source, unreadable state)."""


class ReadRefused(AuditError):
    """The ledger will not show the auditing org every entry (PERMISSION_DENIED): the
    org lacks the auditor role, or its key may not read. Not a finding about the log."""


class StateError(AuditError):
    """The ``--state`` directory holds something this auditor cannot use."""
