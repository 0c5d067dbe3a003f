"""Stage 2's work on each entry: the stateful rules, then the record and its receipt.

The sequencer calls ``apply_batch`` inside its write transaction with the
entries checked by stage 1 (``ledger._internal.prevalidate``), in order; what
it returns is each submission's receipt or refusal, to be answered only once
the transaction has committed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from ledger._internal.prevalidate import Verdict
from ledger.entries import Entry
from ledger.entries.carbon.sites import SiteAttestation
from ledger.errors import (
    UNVERIFIED_SIGNATURE,
    ConflictError,
    EntryRejectedError,
    MalformedEntryError,
    SignatureError,
)
from ledger.keys import verify_signature
from ledger.receipt import Receipt
from ledger.record import Record, chain_hash, entry_hash
from ledger.rules import CarbonView, IdentityState, apply_entry, check_entry
from ledger.store.log import LogWriter, StoredRecord


@dataclass(frozen=True, slots=True)
class Submission:
    """One entry to record: its canonical bytes, the signer's key id, the signature."""

    entry: bytes
    key_id: bytes
    signature: bytes


@dataclass(slots=True)
class Pending:
    """A submission on its way through the sequencer, and its future receipt."""

    submission: Submission
    future: Future[Receipt]
    verdict: Verdict | None = None  # set by stage 1 unless there is an early error
    verified_with: bytes | None = None
    early_error: EntryRejectedError | None = None


def apply_batch(
    batch: Sequence[Pending], writer: LogWriter, carbon: CarbonView, identity: IdentityState
) -> list[Receipt | EntryRejectedError]:
    """Each submission's receipt or refusal, in order, with the accepted ones appended
    to ``writer`` and applied to ``identity`` and ``carbon``."""
    outcomes: list[Receipt | EntryRejectedError] = []
    parsed: list[Entry | EntryRejectedError] = [_parse(p) for p in batch]
    ids = [e.entryId for e in parsed if isinstance(e, Entry)]
    recorded = writer.existing(ids)
    now_us = max(time.time_ns() // 1000, writer.last_timestamp_us)
    for pending, entry in zip(batch, parsed, strict=True):
        if isinstance(entry, EntryRejectedError):
            outcomes.append(entry)
            continue
        try:
            outcomes.append(_append_one(pending, entry, writer, carbon, identity, recorded, now_us))
        except EntryRejectedError as exc:
            outcomes.append(exc)
    return outcomes


def _parse(pending: Pending) -> Entry | EntryRejectedError:
    if pending.early_error is not None:
        return pending.early_error
    verdict = pending.verdict
    assert verdict is not None, "stage 1 answers every submission without an early error"
    if isinstance(verdict, Entry):
        return verdict
    message, field_name, is_signature = verdict
    cls = SignatureError if is_signature else MalformedEntryError
    return cls(message, field=field_name)


def _append_one(
    pending: Pending,
    entry: Entry,
    writer: LogWriter,
    carbon: CarbonView,
    identity: IdentityState,
    recorded: dict[str, StoredRecord],
    timestamp_us: int,
) -> Receipt:
    sub = pending.submission
    digest = entry_hash(sub.entry)
    earlier = recorded.get(entry.entryId)
    if earlier is not None and earlier.entry_hash == digest:
        return _receipt_of(earlier, duplicate=True)
    key = identity.named_key(sub.key_id, entry)
    if pending.verified_with != key.public_key and not verify_signature(
        key.public_key, sub.signature, sub.entry
    ):
        raise SignatureError(UNVERIFIED_SIGNATURE, field="signature")
    if earlier is not None:
        # The submitter holds ``key`` (even if it has ended since, as after a retried
        # rotation): its org's own earlier entry is placed by its seq; another org's is
        # told as a conflict and nothing more.
        at = f" at seq {earlier.seq}" if earlier.org_id == key.org_id else ""
        raise ConflictError(
            f"entryId {entry.entryId} was recorded{at} with other content; "
            "entry ids are unique across the ledger",
            field="entryId",
        )
    signer = identity.resolve_signer(sub.key_id, entry)
    if isinstance(entry, SiteAttestation):
        # Its rule evaluates the site-year from the records (``CarbonView.site_record``),
        # this batch's earlier ones included: write them now (same transaction).
        writer.flush()
    check_entry(entry, signer, identity, carbon, timestamp_us)
    seq = writer.size
    record = Record(seq, timestamp_us, writer.last_chain_hash, digest, sub.key_id, sub.signature)
    leaf = record.leaf_hash()
    stored = StoredRecord(
        seq=seq,
        timestamp_us=timestamp_us,
        entry_id=entry.entryId,
        entry_type=entry.type,
        org_id=entry.org,
        key_id=sub.key_id,
        signature=sub.signature,
        prev_chain_hash=writer.last_chain_hash,
        entry=sub.entry,
        entry_hash=digest,
        leaf_hash=leaf,
        chain_hash=chain_hash(writer.last_chain_hash, leaf),
    )
    writer.append(stored)
    apply_entry(entry, seq, leaf, identity, carbon)
    recorded[entry.entryId] = stored
    return _receipt_of(stored)


def _receipt_of(record: StoredRecord, *, duplicate: bool = False) -> Receipt:
    return Receipt(
        record.entry_id,
        record.seq,
        record.leaf_hash,
        record.chain_hash,
        record.timestamp_us,
        duplicate,
    )
