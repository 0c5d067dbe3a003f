"""Replaying records from any source: record integrity, sequence, signatures and rules.

The auditor holds exactly the state the sequencer derives from the log (the
identity state and a carbon view) and applies the *same* rule functions
(``ledger.rules``) in the same order, so an entry the ledger should have
refused is named with the reason the ledger would have given. It recomputes
every leaf and chain hash from the record's fields and appends the
recomputed leaf (never the source's claim) to a compact Merkle range, so the
root it ends with is the root of what it actually read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence

import orjson

from clients.audit.model import AuditRecord, Check, Failure
from clients.audit.parallel import Item, PendingVerdicts, Verdict, VerifierPool
from ledger.entries import Entry, parse_entry
from ledger.errors import EntryRejectedError
from ledger.keys import decode_public_key, key_id, verify_signature
from ledger.merkle import CompactRange
from ledger.record import GENESIS_CHAIN_HASH, Record, entry_hash
from ledger.rules import CarbonView, IdentityState, MemoryCarbonView, apply_entry, check_entry

MAX_LISTED_FAILURES = 10_000
"""Failures beyond this many are counted, not listed (a wholesale rewrite would list n)."""


_KEY_MEMBER = re.compile(rb'"(?:newP|p)ublicKey"')


def _introduced_keys(entry: bytes) -> dict[bytes, bytes]:
    """key id -> public key of keys an (unchecked) entry introduces; {} if none parse."""
    try:
        obj = json.loads(entry)
        texts = [obj.get("publicKey"), obj.get("newPublicKey")] if isinstance(obj, dict) else []
        keys = [decode_public_key(t) for t in texts if isinstance(t, str)]
    except ValueError:
        return {}
    return {key_id(k): k for k in keys}


class ReplayState:
    """Everything needed to continue an audit after record ``size - 1``."""

    def __init__(
        self,
        identity: IdentityState | None = None,
        carbon: CarbonView | None = None,
        compact: CompactRange | None = None,
        last_chain_hash: bytes = GENESIS_CHAIN_HASH,
        last_timestamp_us: int = 0,
    ) -> None:
        self.identity = identity or IdentityState()
        self.carbon: CarbonView = carbon if carbon is not None else MemoryCarbonView()
        self.compact = compact or CompactRange()
        self.last_chain_hash = last_chain_hash
        self.last_timestamp_us = last_timestamp_us

    @property
    def size(self) -> int:
        return self.compact.size


class Auditor:
    """Feeds batches of records through checks 2-4 and 7; collects failures.

    ``watch_sizes``: tree sizes at which to remember the root of what was read
    (for comparing a full re-read with a checkpoint saved earlier).
    ``on_applied``: called with each entry that passed every check, after it was applied.
    """

    def __init__(
        self,
        state: ReplayState,
        pool: VerifierPool,
        *,
        watch_sizes: Iterable[int] = (),
        on_applied: Callable[[Entry, int, int], None] | None = None,
    ) -> None:
        self.state = state
        self.pool = pool
        self.failures: list[Failure] = []
        self.failure_count = 0
        self.leaf_hashes: list[bytes] = []
        self.first_seq = state.size
        self.checked = 0
        self._watch = set(watch_sizes)
        self._ahead: dict[bytes, bytes] = {}
        self._on_applied = on_applied
        self.roots_at: dict[int, bytes] = {}

    # -- failures ---------------------------------------------------------

    def fail(self, check: Check, reason: str, seq: int | None = None) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append(Failure(check, reason, seq))

    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.failures if f.seq is not None]
        return min(seqs) if seqs else None

    # -- feeding ----------------------------------------------------------

    def items_for(self, batch: Sequence[AuditRecord]) -> list[Item]:
        """Work for the pool: each record with the key it most likely verifies with.

        That is the key the state names now or, for keys introduced by records
        not yet replayed (the pool works one batch ahead), the key such a record
        carries. Only a guess: the replay trusts a verdict only if the key it
        was computed with is the one valid for the signer at that seq.
        """
        keys = self.state.identity.keys
        for record in batch:
            if _KEY_MEMBER.search(record.entry):
                self._ahead.update(_introduced_keys(record.entry))
        items: list[Item] = []
        for record in batch:
            key = keys.get(record.key_id)
            public = key.public_key if key else self._ahead.get(record.key_id)
            items.append((record.entry, public, record.signature))
        return items

    def run(self, batches: Iterable[Sequence[AuditRecord]]) -> None:
        """Check every batch in order, verifying the next batch while this one is replayed."""
        pending: tuple[Sequence[AuditRecord], list[Item], PendingVerdicts] | None = None
        for batch in batches:
            items = self.items_for(batch)
            started = (batch, items, self.pool.submit(items))
            if pending is not None:
                self.apply_batch(pending[0], pending[1], pending[2].result())
            pending = started
        if pending is not None:
            self.apply_batch(pending[0], pending[1], pending[2].result())

    def apply_batch(
        self, batch: Sequence[AuditRecord], items: Sequence[Item], verdicts: Sequence[Verdict]
    ) -> None:
        """Replay ``batch`` in order, given the pool's verdicts for the ``items`` it was sent."""
        for record, item, verdict in zip(batch, items, verdicts, strict=True):
            self._one(record, verdict, item[1])

    def _one(self, record: AuditRecord, verdict: Verdict, checked_with: bytes | None) -> None:
        state = self.state
        expected = state.size
        if record.seq < expected:
            self.fail(
                Check.SEQUENCE,
                f"duplicate or out-of-order record (expected {expected})",
                record.seq,
            )
            return
        if record.seq > expected:
            missing = (
                f"{expected}" if record.seq == expected + 1 else f"{expected}..{record.seq - 1}"
            )
            self.fail(
                Check.SEQUENCE, f"record(s) {missing} missing before seq {record.seq}", expected
            )
        self.checked += 1
        leaf = self._check_record(record)
        while state.compact.size < record.seq:
            # Keep leaf indexes aligned with seqs after a gap; the root cannot match anyway.
            state.compact.append(bytes(32))
            self.leaf_hashes.append(bytes(32))
        state.compact.append(leaf)
        self.leaf_hashes.append(leaf)
        if state.compact.size in self._watch:
            self.roots_at[state.compact.size] = state.compact.root()
        self._check_entry(record, verdict, checked_with, leaf)

    def _check_record(self, record: AuditRecord) -> bytes:
        """Check 2: recompute the leaf and the chain link; return the recomputed leaf hash."""
        state = self.state
        rec = Record(
            record.seq,
            record.timestamp_us,
            record.prev_chain_hash,
            entry_hash(record.entry),
            record.key_id,
            record.signature,
        )
        try:
            leaf = rec.leaf_hash()
        except Exception as exc:  # struct errors on wrong-sized fields
            self.fail(Check.RECORD, f"record fields do not form a leaf: {exc}", record.seq)
            return bytes(32)
        problems = []
        if leaf != record.leaf_hash:
            problems.append("leaf hash does not match the record's fields and entry bytes")
        if record.prev_chain_hash != state.last_chain_hash:
            problems.append("previous chain hash does not link to the record before")
        if rec.chain_hash() != record.chain_hash:
            problems.append("chain hash is not SHA-256(prev chain hash ‖ leaf hash)")
        if record.timestamp_us < state.last_timestamp_us:
            problems.append("timestamp is earlier than the record before")
        if problems:
            self.fail(Check.RECORD, "; ".join(problems), record.seq)
        state.last_chain_hash = record.chain_hash
        state.last_timestamp_us = max(state.last_timestamp_us, record.timestamp_us)
        return leaf

    def _check_entry(
        self, record: AuditRecord, verdict: Verdict, checked_with: bytes | None, leaf: bytes
    ) -> None:
        """Checks 3, 4 and 7: the signer's key at this point, then the sequencer's rules."""
        state, seq = self.state, record.seq
        canonical_error, signature_ok = verdict
        if canonical_error is not None:
            self.fail(Check.RECORD, f"entry bytes are not canonical: {canonical_error}", seq)
            state.identity.size = seq + 1
            return
        try:
            # Canonical bytes (checked above) parse alike in orjson, at a third of the cost.
            entry: Entry = parse_entry(orjson.loads(record.entry))
        except EntryRejectedError as exc:
            self.fail(Check.AUTHORITY, f"entry does not parse: {exc}", seq)
            state.identity.size = seq + 1
            return
        try:
            signer = state.identity.resolve_signer(record.key_id, entry)
        except EntryRejectedError as exc:
            self.fail(Check.SIGNATURE, f"no key valid for this signer here: {exc}", seq)
            state.identity.size = seq + 1
            return
        if checked_with != signer.public_key:
            signature_ok = verify_signature(signer.public_key, record.signature, record.entry)
        if not signature_ok:
            self.fail(Check.SIGNATURE, f"signature does not verify with {entry.org}'s key", seq)
            state.identity.size = seq + 1
            return
        try:
            check_entry(entry, signer, state.identity, state.carbon, record.timestamp_us)
        except EntryRejectedError as exc:
            self.fail(Check.AUTHORITY, f"{entry.type} breaks a rule: {exc}", seq)
            state.identity.size = seq + 1
            return
        apply_entry(entry, seq, leaf, state.identity, state.carbon)
        if self._on_applied is not None:
            self._on_applied(entry, seq, record.timestamp_us)
