"""One audit, from any record source: the order of the checks and what is saved.

1. verify the newest checkpoint with the pinned ledger key (and, given a
   tlog-policy, its witness quorum);
2. prove it consistent with the checkpoint saved by the previous audit;
3. replay the records after the saved state (all of them with ``from_scratch``
   or without a state), checking each one;
4. compare the root of the leaves read with the signed root, and if it
   differs, find the first record not in the signed tree;
5. offline (``stored``): compare the database's derived tables with the
   replay's and its Merkle nodes with the recomputed ones (check 9);
6. incremental: re-check a random sample of already-audited records by
   inclusion proof in the new tree (check 10);
7. with a gateway, compare what it serves with the replay (checks 11 and 12);
8. save the new state only when everything held.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import Connection
from tqdm import tqdm

from clients.audit.checkpoints import (
    CheckpointFailure,
    check_consistent,
    check_policy,
    first_leaf_not_in,
    open_signed,
)
from clients.audit.engine import Auditor, ReplayState
from clients.audit.footprints import FootprintRecompute
from clients.audit.model import AuditRecord, Check, Failure, StateError
from clients.audit.parallel import VerifierPool
from clients.audit.replica import ReplicaCarbonView, ScratchReplica
from clients.audit.report import INCREMENTAL_FOOTPRINTS, AuditReport
from clients.audit.sample import check_sample, draw
from clients.audit.source import RecordSource
from clients.audit.state import AuditStateStore, SavedCheckpoint, has_state, load_checkpoint
from clients.audit.store_checks import StoreFindings, check_store
from clients.audit.zero_carbon import ServedEvaluation, ZeroCarbonRecompute, compare_served
from graph.errors import FootprintEngineError
from ledger.entries import Entry
from ledger.merkle import CompactRange
from ledger.note import Checkpoint, NoteVerifier
from ledger.note.tlog_policy import TlogPolicy
from ledger.store.database import Database
from ledger.store.log import LogStore

ServedCheck = Callable[[Connection, RecordSource, int], Iterable[Failure]]
"""Check 11 (kept apart so that an audit without a gateway imports none of it)."""


def run_audit(
    source: RecordSource,
    verifier: NoteVerifier,
    state_dir: Path | None = None,
    *,
    from_scratch: bool = False,
    progress: bool = False,
    workers: int | None = None,
    stored: Database | None = None,
    sample: int | None = None,
    served: ServedCheck | None = None,
    policy: TlogPolicy | None = None,
    served_evaluation: ServedEvaluation | None = None,
) -> AuditReport:
    """Audit the ledger behind ``source``; raises ``AuditError`` only if it cannot be done.

    ``stored``: the database behind ``source`` (offline audits), whose derived tables
    and Merkle nodes are compared with the replay. ``sample``: how many already-audited
    records an incremental audit re-checks (default: all up to 256, then 256).
    ``served``: check 11 (``clients.audit.served.served_check``), given the replay's
    derived tables, the source and the checkpoint size. ``policy``: a C2SP tlog-policy
    the checkpoint must satisfy (its log key and witness quorum), else it is refused.
    ``served_evaluation``: check 12's fetch of a site-year's evaluation from a gateway
    (``clients.audit.gateway_source``).
    """
    started = time.perf_counter()
    report = AuditReport()
    note = source.checkpoint_note()
    try:
        checkpoint = open_signed(note, verifier)
        report.origin = checkpoint.origin
        report.checkpoint_size = checkpoint.size
        report.checkpoint_root = checkpoint.root_hash.hex()
        if policy is not None:
            report.cosigners = list(check_policy(note, policy, verifier))
    except CheckpointFailure as exc:
        # A checkpoint refused is not audited against: nothing else is read or saved.
        _add(report, [exc.failure], 1)
        report.seconds = time.perf_counter() - started
        return report

    store: AuditStateStore | None = None
    saved_cp: SavedCheckpoint | None = None
    replay = ReplayState()
    scratch: ScratchReplica | None = None
    if state_dir is not None and has_state(state_dir) and not from_scratch:
        store = AuditStateStore(state_dir, fresh=False)
        try:
            saved_cp, replay = store.load()
        except StateError:
            store.abort()
            raise
        report.incremental = True
    elif state_dir is not None:
        saved_cp = load_checkpoint(state_dir)
    try:
        failures: list[Failure] = []
        if saved_cp is not None:
            report.previous_size = saved_cp.size
            try:
                check_consistent(
                    saved_cp.size, saved_cp.root_hash, checkpoint, source.consistency_proof
                )
            except CheckpointFailure as exc:
                failures.append(exc.failure)
                # The saved replay state is of another history: re-read everything.
                if store is not None:
                    store.abort()
                    store, report.incremental = None, False
        if state_dir is not None and store is None:
            store = AuditStateStore(state_dir, fresh=True)
            replay = ReplayState(carbon=ReplicaCarbonView(store.conn))
        elif store is None and (stored is not None or served is not None):
            scratch = ScratchReplica()
            replay = ReplayState(carbon=scratch.view())
        start = CompactRange(replay.size, replay.compact.hashes)
        auditor = _replay(source, checkpoint, replay, saved_cp, report, workers, progress)
        if isinstance(replay.carbon, ReplicaCarbonView):
            replay.carbon.flush()
        failures.extend(auditor.failures)
        failures.extend(_root_failures(source, checkpoint, auditor, saved_cp))
        extra = auditor.failure_count - len(auditor.failures)
        replica = store.conn if store is not None else scratch.conn if scratch else None
        if stored is not None:
            found = _store_failures(stored, replica, start, auditor, checkpoint, report)
            failures.extend(found.failures())
            extra += found.count - len(found.rows) - len(found.nodes)
        if report.incremental and saved_cp is not None:
            sampled = check_sample(source, checkpoint, draw(saved_cp.size, sample))
            report.sampled = sampled.seqs
            failures.extend(sampled.failures)
        if served is not None and replica is not None:
            failures.extend(served(replica, source, checkpoint.size))
        if served_evaluation is not None and report.zero_carbon is not None:
            failures.extend(compare_served(report.zero_carbon, served_evaluation, checkpoint.size))
    except BaseException:
        if store is not None:
            store.abort()
        raise
    finally:
        if scratch is not None:
            scratch.close()
    _add(report, failures, len(failures) + extra)
    report.entries_checked = auditor.checked
    if store is not None:
        if report.ok:
            store.commit(SavedCheckpoint(note, checkpoint.size, checkpoint.root_hash), replay)
            report.state_saved = True
        else:
            store.abort()
    report.seconds = time.perf_counter() - started
    return report


def _replay(
    source: RecordSource,
    checkpoint: Checkpoint,
    replay: ReplayState,
    saved_cp: SavedCheckpoint | None,
    report: AuditReport,
    workers: int | None,
    progress: bool,
) -> Auditor:
    """Checks 2-4 and 7 over the records after ``replay``, up to the checkpoint."""
    report.first_seq = replay.size
    full_reread = saved_cp is not None and replay.size == 0
    watch = [saved_cp.size] if saved_cp is not None and full_reread else []
    whole = replay.size == 0
    footprints, sites = FootprintRecompute(), ZeroCarbonRecompute()

    def recompute(entry: Entry, seq: int, timestamp_us: int) -> None:
        footprints.applied(entry, seq, timestamp_us)
        sites.applied(entry, seq, timestamp_us)

    with VerifierPool(workers, checkpoint.size - replay.size) as pool:
        hook = recompute if whole else None
        auditor = Auditor(replay, pool, watch_sizes=watch, on_applied=hook)
        batches = source.batches(replay.size, checkpoint.size)
        auditor.run(_with_progress(batches, checkpoint.size - replay.size, progress))
    if not whole:
        report.notes.append(INCREMENTAL_FOOTPRINTS)
        return auditor
    try:
        report.footprints = footprints.findings()
    except FootprintEngineError as exc:
        report.notes.append(f"check 8: the footprint engine found no solution: {exc}")
    report.zero_carbon = sites.findings(replay.carbon, checkpoint.size)
    return auditor


def _store_failures(
    db: Database,
    replica: Connection | None,
    start: CompactRange,
    auditor: Auditor,
    checkpoint: Checkpoint,
    report: AuditReport,
) -> StoreFindings:
    """Check 9. The derived tables are as of the whole stored log: they are compared
    only when the checkpoint covers all of it (as after the server's stop)."""
    stored_size = LogStore(db).tree_size()
    whole = stored_size == checkpoint.size
    if not whole:
        report.notes.append(
            f"check 9: the database holds {stored_size} records, the newest checkpoint "
            f"covers {checkpoint.size}: derived tables not compared (audit again once a "
            "checkpoint covers every record)"
        )
    return check_store(db, replica if whole else None, start, auditor.leaf_hashes, whole)


def _root_failures(
    source: RecordSource,
    checkpoint: Checkpoint,
    auditor: Auditor,
    saved_cp: SavedCheckpoint | None,
) -> list[Failure]:
    """Check 5, and (after a full re-read) the root at the size saved by the last audit."""
    failures: list[Failure] = []
    replay = auditor.state
    if replay.size < checkpoint.size:
        failures.append(
            Failure(
                Check.SEQUENCE,
                f"the log ends before seq {replay.size} but the checkpoint covers "
                f"{checkpoint.size} records",
                replay.size,
            )
        )
    elif replay.compact.root() != checkpoint.root_hash:
        bad = first_leaf_not_in(
            auditor.leaf_hashes, auditor.first_seq, checkpoint, source.inclusion_proof
        )
        where = f"; seq {bad} is the first record not in the signed tree" if bad is not None else ""
        failures.append(
            Failure(
                Check.MERKLE_ROOT,
                f"the root of the records read is not the signed root of size "
                f"{checkpoint.size}{where}",
                bad,
            )
        )
    if saved_cp is not None and saved_cp.size in auditor.roots_at:
        if auditor.roots_at[saved_cp.size] != saved_cp.root_hash:
            failures.append(
                Failure(
                    Check.CONSISTENCY,
                    f"the first {saved_cp.size} records read now do not give the root of the "
                    "checkpoint saved by the previous audit: history was rewritten",
                )
            )
    return failures


def _add(report: AuditReport, failures: list[Failure], count: int) -> None:
    report.failures.extend(failures)
    report.failure_count += count


def _with_progress(
    batches: Iterator[list[AuditRecord]], total: int, show: bool
) -> Iterator[list[AuditRecord]]:
    """A progress bar with rate and ETA on a terminal; nothing otherwise."""
    if not show:
        yield from batches
        return
    with tqdm(total=total, unit="entry", unit_scale=True, dynamic_ncols=True) as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))
