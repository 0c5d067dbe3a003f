"""The sequencer: group-committed, durable appends in a single order.

Submissions from any number of threads queue up. A first stage takes what
has queued (up to ``max_batch``) and hands it to worker processes in chunks,
which check canonical form and signatures and validate each entry against its
model, on all cores. A second stage takes the checked chunks in order, as many
as are ready, takes the database's sequencer lock, applies the stateful rules
in order (asking the carbon facts kept from earlier commits first:
``ledger.store.carbon_cache``), appends records and Merkle nodes (one ``executemany`` of tuples per
table, as driver SQL: ``ledger.store.driver_sql``), and commits once for them all. Only
after that commit is any submission of the batch acknowledged, so nothing
acknowledged can be lost. A commit the database refuses for one entry's data is
retried without that entry (see ``Sequencer._sequence``); any other failed
commit rejects the whole batch as retryable and nothing of it is written.

The rules run on a fork of the committed identity (``ledger.committed_identity``),
published only once the commit succeeded and before any submission is answered:
readers never see the orgs and keys of a batch that may yet roll back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError

from ledger._internal.appending import Pending, apply_batch
from ledger._internal.appending import Submission as Submission
from ledger._internal.prevalidate import Item, Prevalidator, Verdict, cost
from ledger._internal.rate_limited import RateLimitedWarning
from ledger.committed_identity import CommittedIdentity, advance
from ledger.entries.identity import IDENTITY_TYPES
from ledger.errors import (
    EntryRejectedError,
    EntryTooLargeError,
    LedgerError,
    MalformedEntryError,
    UnstorableEntryError,
)
from ledger.errors import IntegrityError as StoreAlteredError
from ledger.integrity_monitor import IntegrityMonitor
from ledger.keys import KEY_ID_SIZE, SIGNATURE_SIZE
from ledger.receipt import Receipt
from ledger.record_signatures import RecordSignatures
from ledger.rules import IdentityState
from ledger.store.carbon_cache import CachedCarbonView, CarbonFactsCache
from ledger.store.log import LogHead, LogStore, LogWriter

log = logging.getLogger(__name__)
_unstorable = RateLimitedWarning(log, 60.0)


# A commit waits for the checks of the chunks queued behind its first up to about
# this cost (~30 ms of the workers' time; see ``prevalidate.cost``).
_COMMIT_WAIT_COST = 2 * 1024 * 1024


class SequencerUnavailableError(LedgerError):
    """The batch could not be committed; nothing of it was written. Safe to retry."""


@dataclass(slots=True)
class _Checking:
    """Submissions being checked together (one chunk), and their verdicts to come."""

    batch: list[Pending]
    verdicts: Future[list[Verdict]]


@dataclass
class SequencerConfig:
    max_entry_bytes: int = 256 * 1024
    max_batch: int = 2048  # entries per commit, at most
    verify_workers: int | None = None


@dataclass
class SequencerStats:
    """What the commit stage did and where its time went, summed since the start (the
    benchmarks print it)."""

    batches: int = 0
    entries: int = 0
    commit_seconds: float = 0.0
    rule_seconds: float = 0.0
    verify_seconds: float = 0.0  # the commit stage waiting for stage 1's verdicts


class Sequencer:
    def __init__(
        self,
        store: LogStore,
        identity: CommittedIdentity,
        config: SequencerConfig | None = None,
        *,
        monitor: IntegrityMonitor | None = None,
        signatures: RecordSignatures | None = None,
    ) -> None:
        self.store = store
        self.config = config or SequencerConfig()
        self._monitor = monitor or IntegrityMonitor()
        self._signatures = signatures  # told of each record committed, checked already
        self._identity = identity
        self.stats = SequencerStats()
        self._inbox: queue.Queue[Pending | None] = queue.Queue()
        # Chunks being checked, in order. Unbounded: the workers' queue bounds how far
        # stage 1 runs ahead (``Prevalidator.wait_for_room``).
        self._checked: queue.Queue[_Checking | None] = queue.Queue()
        self._backlog = 0  # chunks in ``_checked`` that no commit has taken yet
        self._progress = threading.Condition()  # notified when a commit takes chunks
        self._prevalidator = Prevalidator(self.config.verify_workers)
        # what the rules learnt of the carbon tables, kept from one commit to the next
        self._carbon_facts = CarbonFactsCache()
        self._log_head: LogHead | None = None  # the end of the log the last commit left
        self._threads = [
            threading.Thread(target=self._check_loop, name="sequencer-check", daemon=True),
            threading.Thread(target=self._commit_loop, name="sequencer-commit", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._inbox.put(None)
        for thread in self._threads:
            thread.join()
        self._prevalidator.close()

    def submit(self, submission: Submission) -> Future[Receipt]:
        """Queue a submission; the future resolves after its batch is durably committed."""
        future: Future[Receipt] = Future()
        pending = Pending(submission, future)
        pending.early_error = self._shape_error(submission)
        self._inbox.put(pending)
        return future

    def _shape_error(self, submission: Submission) -> EntryRejectedError | None:
        if len(submission.entry) > self.config.max_entry_bytes:
            return EntryTooLargeError(
                f"entry is {len(submission.entry)} bytes; the limit is "
                f"{self.config.max_entry_bytes}",
                field="entry",
            )
        if len(submission.key_id) != KEY_ID_SIZE:
            return MalformedEntryError(f"key id must be {KEY_ID_SIZE} bytes", field="keyId")
        if len(submission.signature) != SIGNATURE_SIZE:
            return MalformedEntryError(
                f"signature must be {SIGNATURE_SIZE} bytes", field="signature"
            )
        return None

    # -- stage 1: canonical form, signatures and models, on all cores ----------

    def _check_loop(self) -> None:
        while True:
            first = self._inbox.get()
            if first is None:
                self._checked.put(None)
                return
            batch = [first]
            self._take_queued(batch)
            # A batch too small for the workers waits while commits are behind, and
            # while the workers have enough queued; what arrives meanwhile joins it.
            # Under load, batches and chunks grow, and their fixed costs (on this
            # process's GIL, like the commits') shrink per entry.
            while self._prevalidator.checks_here(_cost(batch)) and self._wait_for_commits():
                self._take_queued(batch)
            self._prevalidator.wait_for_room()
            self._take_queued(batch)
            try:
                chunks = self._start_checks(batch)
            except Exception as exc:  # answered by the commit stage, in order
                failed: Future[list[Verdict]] = Future()
                failed.set_exception(exc)
                chunks = [_Checking(batch, failed)]
            with self._progress:
                self._backlog += len(chunks)
            for checking in chunks:
                self._checked.put(checking)

    def _take_queued(self, batch: list[Pending]) -> None:
        """Add what has queued to ``batch``, up to ``max_batch``."""
        while len(batch) < self.config.max_batch:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._inbox.put(None)
                return
            batch.append(item)

    def _wait_for_commits(self) -> bool:
        """If chunks wait for a commit, block until a commit takes some and say so."""
        with self._progress:
            if self._backlog == 0:
                return False
            self._progress.wait()
            return True

    def _start_checks(self, batch: list[Pending]) -> list[_Checking]:
        todo: list[Pending] = []
        items: list[Item] = []
        keys = self._identity.current().keys  # a guess only: stage 2 checks the key again
        for pending in batch:
            if pending.early_error is None:
                key = keys.get(pending.submission.key_id)
                pending.verified_with = key.public_key if key else None
                sub = pending.submission
                todo.append(pending)
                items.append((sub.entry, pending.verified_with, sub.signature))
        chunks = []
        start = 0
        for count, verdicts in self._prevalidator.submit(items):
            chunks.append(_Checking(todo[start : start + count], verdicts))
            start += count
        # Submissions refused before any check ride along with the first chunk.
        chunks[0].batch[:0] = [p for p in batch if p.early_error is not None]
        return chunks

    @staticmethod
    def _take_verdicts(checking: _Checking) -> None:
        verdicts = checking.verdicts.result()
        todo = [p for p in checking.batch if p.early_error is None]
        for pending, verdict in zip(todo, verdicts, strict=True):
            pending.verdict = verdict

    # -- stage 2: rules, append, one commit per batch -------------------------

    def _commit_loop(self) -> None:
        held: list[_Checking | None] = []  # taken from the queue, for the next commit
        while True:
            first = held.pop() if held else self._checked.get()
            if first is None:
                return
            batch = self._gather(first, held)
            if batch:
                self._sequence(batch)

    def _gather(self, first: _Checking, held: list[_Checking | None]) -> list[Pending]:
        """The submissions of ``first`` and of the chunks queued after it, with their
        verdicts: one commit for all, as each commit has a fixed cost (under load, a
        wait for the GIL per statement). It waits for the checks of queued chunks
        only up to ``_COMMIT_WAIT_COST``, so that after a burst the last commit,
        which nothing overlaps, is short. A chunk whose check failed as a whole is
        answered here and left out.
        """
        started = time.perf_counter()
        groups = [first]
        count, waits = len(first.batch), _cost(first.batch)
        while not held:
            try:
                more = self._checked.get_nowait()
            except queue.Empty:
                break
            if (
                more is None
                or count + len(more.batch) > self.config.max_batch
                or (waits >= _COMMIT_WAIT_COST and not more.verdicts.done())
            ):
                held.append(more)
            else:
                groups.append(more)
                count += len(more.batch)
                waits += 0 if more.verdicts.done() else _cost(more.batch)
        with self._progress:
            self._backlog -= len(groups)
            self._progress.notify_all()
        batch: list[Pending] = []
        for checking in groups:
            try:
                self._take_verdicts(checking)
            except Exception as exc:
                _fail(checking.batch, exc, "checking")
            else:
                batch.extend(checking.batch)
        self.stats.verify_seconds += time.perf_counter() - started
        return batch

    def _sequence(self, batch: list[Pending]) -> None:
        """Apply the rules to ``batch``, append and commit it once, then answer it.

        When the database refuses the commit because of the data (a value it cannot
        store or a constraint it checks: something validation let through), the
        batch is committed again in halves, down to the one entry at fault, which
        alone is refused; the others are recorded. Any other failure (the database
        unreachable, rows the sequencer did not write) rejects the whole batch as
        retryable. A failed commit publishes nothing: the identity its rules changed is
        dropped with it, and each retry starts again from the committed one.
        """
        try:
            outcomes = self._commit(batch)
        except (DataError, IntegrityError) as exc:
            if not _entry_at_fault(exc):
                _fail(batch, exc, "committing")
            elif len(batch) == 1:
                _refuse_unstorable(batch[0], exc)
            else:
                half = len(batch) // 2
                self._sequence(batch[:half])
                self._sequence(batch[half:])
            return
        except StoreAlteredError as exc:
            # The rules read a row an insider altered (an index column of another type):
            # the alarm, and every submission refused as retryable, without a traceback;
            # a retry succeeds once the operator has repaired the store (``fsck``).
            self._monitor.report(exc)
            _answer_all(
                batch, SequencerUnavailableError(f"not recorded, retry after a repair: {exc}")
            )
            return
        except Exception as exc:
            _fail(batch, exc, "committing")
            return
        self.stats.batches += 1
        self.stats.entries += len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Receipt):
                pending.future.set_result(outcome)
            else:
                pending.future.set_exception(outcome)

    def _commit(self, batch: list[Pending]) -> list[Receipt | EntryRejectedError]:
        """Commit ``batch``, then publish the identity it leads to (nothing if it raises).

        The carbon facts the rules cached and the log's end it appended to survive only a
        commit that succeeded; both are used again only while the log keeps that size."""
        try:
            with self.store.db.write() as conn:
                writer = LogWriter(conn, self._log_head)
                identity = self._working_identity(writer)
                self._carbon_facts.start(writer.size)
                carbon = CachedCarbonView(conn, self._carbon_facts)
                started = time.perf_counter()
                outcomes = apply_batch(batch, writer, carbon, identity)
                self.stats.rule_seconds += time.perf_counter() - started
                started = time.perf_counter()
                carbon.flush()
                writer.flush()
        except BaseException:
            self._carbon_facts.reset()
            self._log_head = None
            raise
        self.stats.commit_seconds += time.perf_counter() - started
        self._carbon_facts.committed(writer.size)
        self._log_head = writer.head()
        self._identity.publish(identity)
        if self._signatures is not None:
            self._signatures.sequenced(
                (o.seq, o.leaf_hash) for o in outcomes if isinstance(o, Receipt) and not o.duplicate
            )
        return outcomes

    def _working_identity(self, writer: LogWriter) -> IdentityState:
        """A fork of the committed identity with the identity entries that other
        processes appended since it was published (the sequencer lock is held, so
        ``writer.size`` is the whole log)."""
        committed = self._identity.current()
        if writer.size == committed.size:
            return committed.fork()
        return advance(committed, writer.records_since(committed.size, IDENTITY_TYPES), writer.size)


def _cost(batch: Sequence[Pending]) -> int:
    return cost(sum(len(p.submission.entry) for p in batch), len(batch))


def _entry_at_fault(exc: DataError | IntegrityError) -> bool:
    """Whether the database refused a statement because of the data in it: a value it
    cannot store, or a constraint other than uniqueness.

    A uniqueness conflict is the store's state, not an entry's data: the sequencer
    derives every key of the log's own rows (seq, Merkle node) and checks entry ids
    first, so such a conflict means rows it did not write (an insider, a restore
    gone wrong), and any entry at that position would fail the same way.
    """
    if isinstance(exc, DataError):
        return True
    orig = exc.orig
    unique = getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint" in str(orig)
    return not unique


def _refuse_unstorable(pending: Pending, exc: Exception) -> None:
    """Answer the one entry whose data the database refused: not retryable, no traceback
    (the operator gets a rate-limited line with the database's reason)."""
    kind = type(exc).__name__
    reason = (str(getattr(exc, "orig", exc)).splitlines() or [""])[0][:300]
    _unstorable.warn("the database refused an entry (%s: %s)", kind, reason)
    error = UnstorableEntryError(f"the store cannot hold this entry ({kind}); not recorded")
    pending.future.set_exception(error)


def _fail(batch: Sequence[Pending], exc: Exception, doing: str) -> None:
    """Answer every submission of a batch that failed as a whole: retryable, nothing written.

    Call from the ``except`` block that caught ``exc`` (the log shows its traceback).
    """
    log.exception("%s a batch of %d submissions failed", doing, len(batch))
    _answer_all(batch, SequencerUnavailableError(f"not recorded, retry: {type(exc).__name__}"))


def _answer_all(batch: Sequence[Pending], error: Exception) -> None:
    """Answer every submission of ``batch`` with ``error`` (nothing of it was written)."""
    for pending in batch:
        pending.future.set_exception(error)
