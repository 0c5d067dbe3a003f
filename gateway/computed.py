"""Computed cradle-to-gate footprints, through the footprint engine (``graph``).

This is the gateway's one connection to ``graph``: entries reach the engine
through ``graph.ledger_adapter`` (the same active set the auditor and the demo
compute over) and results come from ``graph.engine.FootprintEngine``; it
computes nothing itself. When the log grows, only the new engine-relevant
entries are read and applied incrementally (the engine recomputes just what is
downstream of them), so every gateway process derives the same numbers from
the shared database.

A footprint in, or downstream of, a loop with no physical solution raises
:class:`NoPhysicalSolutionError` from :meth:`ComputedFootprints.result` (the engine contains
the loop; every other footprint computes). If an incremental update still fails, the
engine is rebuilt from the whole log rather than left half-updated, so one bad update
cannot break every later request.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from gateway.computed_journal import Advance, ChangeJournal, viewers_reached
from gateway.computed_render import Evidence, attested, retired, served_result
from gateway.engine_snapshot import EngineSnapshots, EngineState
from gateway.factor_details import FactorDetails
from gateway.footprints import FootprintAccess, Reads
from gateway.index_checks import attests_to, benefits_from
from gateway.quantities import percent, quantity
from graph.contributions import ContributionNode
from graph.cut import Disclosure, disclosed_result, disclosed_tree
from graph.engine import FootprintEngine
from graph.errors import FootprintEngineError, NoPhysicalSolutionError, OutOfRangeError
from graph.ledger_adapter import ENGINE_ENTRY_TYPES, ActiveFootprints, FootprintChange
from graph.results import ComputedFootprint
from ledger.entries import Entry, parse_entry
from ledger.read import VerifiedLog, log_size
from ledger.read.evidence import attestation_seqs, evidence_added, retirement_seqs
from ledger.read.footprints import footprint_ref

_log = logging.getLogger(__name__)

#: More entries to take in than this share of the active footprints (and at least
#: ``CATCH_UP_MIN``) rebuild the engine from the active set instead of updating it with
#: their net change in one ``apply``. At 10⁵ bench footprints, held packed: 2 % of them
#: superseded took 2.0 s as one update against 5.3 s for a rebuild, 10 % 6.9 s against
#: 7.1 s. A rebuild drops every cached result.
CATCH_UP_SHARE = 0.02
CATCH_UP_MIN = 1000


# A footprint's uncut result, or why it has none (None: the engine does not hold it).
_Result = ComputedFootprint | NoPhysicalSolutionError | OutOfRangeError | None


@dataclass
class _Snapshot:
    size: int
    engine: FootprintEngine
    results: dict[str, ComputedFootprint | NoPhysicalSolutionError | OutOfRangeError | None] = (
        field(default_factory=dict)
    )
    evidence: dict[str, Evidence] = field(default_factory=dict)


class ComputedFootprints:
    def __init__(
        self,
        db: Reads,
        verified: VerifiedLog,
        access: FootprintAccess,
        snapshots: EngineSnapshots | None = None,
    ) -> None:
        self._db = db
        self._verified = verified
        self._access = access
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._active = ActiveFootprints()
        self._factors = FactorDetails()
        self._snapshots = snapshots
        self._saved_size = 0
        #: the tree size of the snapshot this object started from (None: built from the log)
        self.restored_from: int | None = None
        #: what each advance of the snapshot may have changed (``gateway.computed_served``)
        self.journal = ChangeJournal()

    @property
    def size(self) -> int:
        """The log size the engine has taken in (0 before the first request)."""
        snap = self._snapshot
        return 0 if snap is None else snap.size

    def _current(self) -> _Snapshot:
        with self._db.read() as conn:
            return self.catch_up(log_size(conn))

    def catch_up(self, size: int) -> _Snapshot:
        """The snapshot over at least the log's first ``size`` entries (a newer one when
        another request took in more meanwhile), taking in the entries it lacks."""
        size = self._verified.size_at_least(size)
        snap = self._snapshot
        if snap is not None and snap.size >= size:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.size < size:
                snap = self._build(size, snap)
                self._snapshot = snap
            return snap

    def _engine_entries(self, start: int, stop: int) -> list[tuple[Entry, int]]:
        """The engine-relevant entries recorded in [start, stop), with their record
        timestamps. The engine takes only entries the signed tree proves
        (``IntegrityError`` otherwise); all of them are read before any is applied, so a
        record that fails leaves the active set and the engine as they were. The factors
        published among them are indexed for the trees' factor lines."""
        records = self._verified.records(start, stop, types=ENGINE_ENTRY_TYPES)
        entries = [(parse_entry(json.loads(r.entry)), r.timestamp_us) for r in records]
        self._factors.add(entry for entry, _ in entries)
        return entries

    def _engine(
        self, size: int, previous: _Snapshot | None
    ) -> tuple[FootprintEngine, set[str] | None, frozenset[str] | None]:
        """The engine over the log's first ``size`` entries, the footprints whose results
        may differ from ``previous``'s and the orgs whose grants changed (None: any of
        them). ``previous``'s engine (or, at the first request, the saved snapshot's) is
        brought up to date, or a new one built: from the active set when many entries
        are new, from the whole log when there is nothing to start from or an update
        fails half-way (the active set and the engine would disagree from then on)."""
        restored = previous is None
        if previous is None:
            previous = self._restore(size)
        if previous is not None:
            entries = self._engine_entries(previous.size, size)
            many = max(CATCH_UP_MIN, CATCH_UP_SHARE * len(self._active.declarations))
            if len(entries) > many:
                self._active.apply_all(entries)
                return self._built(size), None, None
            change = FootprintChange.merged(
                [self._active.apply(entry, at_us) for entry, at_us in entries],
                previous.engine.__contains__,
            )
            reached: set[str] | None = set()
            try:
                if change.factors:
                    previous.engine.add_factors(change.factors)
                    reached = None  # a new factor may fill any gap
                if change.added or change.removed:
                    recomputed = previous.engine.apply(added=change.added, removed=change.removed)
                    if reached is not None:
                        reached |= recomputed | set(change.removed)
            except FootprintEngineError as e:
                _log.warning("footprint engine update failed (%s); rebuilding from the log", e)
            else:
                if restored:  # nothing cached yet: anything may have changed
                    return previous.engine, None, None
                return previous.engine, reached, viewers_reached(entry for entry, _ in entries)
        everything = self._engine_entries(0, size)
        self._active = ActiveFootprints()
        self._active.apply_all(everything)
        return self._built(size), None, None

    def _restore(self, size: int) -> _Snapshot | None:
        """The saved engine snapshot (``gateway.engine_snapshot``), if there is one that
        proves to be of this log; its state becomes this object's."""
        if self._snapshots is None or size == 0:
            return None
        state = self._snapshots.load(size, self._verified.root)
        if state is None:
            return None
        self._active, self._factors = state.active, state.factors
        self._saved_size = self.restored_from = state.size
        _log.info("footprint engine restored from its snapshot at tree size %d", state.size)
        return _Snapshot(state.size, state.engine)

    def _built(self, size: int) -> FootprintEngine:
        """A new engine over the active set, saved as the snapshot a restart starts from."""
        engine = self._active.engine()
        self._save(size, engine)
        return engine

    def _save(self, size: int, engine: FootprintEngine) -> None:
        if self._snapshots is None or size == 0 or size == self._saved_size:
            return
        root = self._verified.root(size)
        self._snapshots.save(EngineState(size, root, self._active, self._factors, engine))
        self._saved_size = size

    def save_snapshot(self) -> None:
        """Save the engine as it stands, if it moved since it was last saved (at shutdown:
        the next start takes in only what is appended after). A failure is logged: the
        snapshot only saves time, and a shutdown must finish."""
        with self._lock:
            snap = self._snapshot
            if snap is None:
                return
            try:
                self._save(snap.size, snap.engine)
            except Exception as exc:  # e.g. the database already closed
                _log.warning("engine snapshot not saved at shutdown: %s", exc)

    def _build(self, size: int, previous: _Snapshot | None) -> _Snapshot:
        """The snapshot at ``size``, keeping ``previous``'s cached results and evidence
        for every footprint the new entries do not reach: an append costs what it
        changes, not a recomputation of every footprint asked for since. What it may
        have changed goes to the journal."""
        engine, reached, viewers = self._engine(size, previous)
        snap = _Snapshot(size, engine)
        start = 0 if previous is None else previous.size
        if previous is None or reached is None:
            self.journal.record(Advance(start, size, None, None))
            return snap
        snap.results = {k: v for k, v in previous.results.items() if k not in reached}
        with self._db.read() as conn:
            added = evidence_added(conn, previous.size, size)
        # A footprint's evidence rests on its own record and the attestations and
        # retirements naming it, not on its result: a recomputed footprint keeps it.
        snap.evidence = {k: v for k, v in previous.evidence.items() if k not in added}
        self.journal.record(Advance(start, size, frozenset(reached | added), viewers))
        return snap

    def _evidence(self, snap: _Snapshot, footprint_id: str) -> Evidence:
        """Who attested the footprint and what was retired for it, as of the snapshot: one
        index probe each (``ledger.read.evidence``), entries read verified; cached in the
        snapshot. The reads run without the lock, so they never hold up an advance."""
        found = snap.evidence.get(footprint_id)
        if found is not None:
            return found
        entries = self._access.indexed_entry
        with self._db.read() as conn:
            ref = footprint_ref(conn, footprint_id)
            attests = attests_to(ref)
            benefits = benefits_from(footprint_id)
            attestations = [
                attested(entries(conn, seq, "attestation", attests), seq)
                for seq in attestation_seqs(conn, footprint_id, snap.size)
            ]
            retirements = [
                retired(entries(conn, seq, "retirement beneficiary", benefits), seq)
                for seq in retirement_seqs(conn, footprint_id, snap.size)
            ]
        found = Evidence(attestations, retirements)
        with self._lock:  # an advance copies the cache
            snap.evidence[footprint_id] = found
        return found

    def _full(self, snap: _Snapshot, footprint_id: str) -> ComputedFootprint | None:
        """The uncut result, cached in the snapshot (call with the lock held)."""
        if footprint_id not in snap.results:
            try:
                snap.results[footprint_id] = snap.engine.result(footprint_id)
            except (NoPhysicalSolutionError, OutOfRangeError) as e:
                snap.results[footprint_id] = e
            except FootprintEngineError:
                snap.results[footprint_id] = None
        found = snap.results[footprint_id]
        # A fresh error each time: no traceback growing with every request.
        if isinstance(found, NoPhysicalSolutionError):
            raise NoPhysicalSolutionError(found.cycle, footprint_id=found.footprint_id)
        if isinstance(found, OutOfRangeError):
            raise OutOfRangeError(found.footprint_id)
        return found

    def _leaf(self, snap: _Snapshot, footprint_id: str) -> ComputedFootprint:
        found = self._full(snap, footprint_id)
        assert found is not None, "a leaf of the supply graph is in the engine"
        return found

    def _disclosed(
        self, snap: _Snapshot, footprint_id: str, level_of: Disclosure
    ) -> ComputedFootprint | None:
        with self._lock:
            found = self._full(snap, footprint_id)
            if found is not None and level_of(footprint_id) == "detail":
                found = disclosed_result(
                    snap.engine, found, level_of, lambda fid: self._leaf(snap, fid)
                )
        return found

    def footprint(self, footprint_id: str, level_of: Disclosure) -> ComputedFootprint | None:
        """The computed footprint :meth:`result` serves, as the engine's numbers (for the
        exports that derive from it); raises as :meth:`result` does."""
        return self._disclosed(self._current(), footprint_id, level_of)

    def result(
        self, footprint_id: str, level_of: Disclosure, *, size: int | None = None
    ) -> dict[str, Any] | None:
        """The computed footprint as served to a viewer with access ``level_of`` (the root
        visible to it), or None if the engine does not hold it. With detail access the
        breakdowns are cut at the edge of the viewer's access (``graph.cut``); with
        summary access there is no supplier breakdown, and no attestations or retirements.
        ``size``: a log size the caller queried after its request began (else queried).

        Raises :class:`NoPhysicalSolutionError` for a footprint in or downstream of a loop
        that has no physical solution.
        """
        snap = self._current() if size is None else self.catch_up(size)
        detail = level_of(footprint_id) == "detail"
        found = self._disclosed(snap, footprint_id, level_of)
        if found is None:
            return None
        evidence = None
        if detail:
            evidence = self._evidence(snap, footprint_id)
        return served_result(found, detail, evidence)

    def contributions(
        self, footprint_id: str, level_of: Disclosure, *, depth: int, cutoff: float
    ) -> dict[str, Any] | None:
        """The contribution tree of a footprint the viewer has detail access to, cut at the
        edge of its access (``graph.cut``), or None if the engine does not hold the
        footprint; raises :class:`NoPhysicalSolutionError` as :meth:`result` does.
        ``cutoff`` is a fraction of the total (the API takes a percent)."""
        snap = self._current()
        try:
            with self._lock:
                tree = snap.engine.contributions(footprint_id, cutoff=cutoff, max_depth=depth)
                return self._node(snap.engine, disclosed_tree(tree, level_of))
        except (NoPhysicalSolutionError, OutOfRangeError):
            raise
        except FootprintEngineError:
            return None

    def _node(self, engine: FootprintEngine, node: ContributionNode) -> dict[str, Any]:
        """A tree line as served: a footprint line with the unit its ``amount`` is in (the
        footprint's declared unit), a factor line with what the factor states (call with
        the lock held)."""
        factor = self._factors.of(node.label) if node.kind == "factor" else None
        unit = None
        if node.footprint_id is not None:
            unit = engine.declaration(node.footprint_id).declared_unit
        return {
            "label": node.label,
            "kind": node.kind,
            "footprintId": node.footprint_id,
            "amount": quantity(node.amount),
            "unit": unit,
            "kgCO2e": quantity(node.kg_co2e),
            "share": percent(node.share),
            "factor": factor,
            "children": [self._node(engine, c) for c in node.children],
        }
