"""Check 8: every active footprint recomputed from its composition.

The computation is the footprint engine's (``graph``), reached only through
its ledger adapter (``graph.ledger_adapter.ActiveFootprints``), which the
gateway uses too: the auditor feeds it the ``factors.publish``, ``footprint``,
``footprint.deprecate`` entries and the company bindings (``org.enroll``,
``org.companies``) that passed every other check, in log order, and lists
declared against computed totals. A difference is a finding to list, not a
broken rule of the log (a supplier may declare a figure its composition does
not fully explain), so it does not fail the audit; the engine's tolerance
marks the ones to look at. A footprint in or downstream of a loop that consumes
at least one unit of itself has no computed value: it is flagged, with the
engine's message naming the loop, and the others are recomputed as usual.

The active set is not part of the saved state, so check 8 runs when the whole
log is read (first audit, ``--from-scratch``, no ``--state``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.errors import NoPhysicalSolutionError
from graph.ledger_adapter import ENGINE_ENTRY_TYPES, ActiveFootprints
from ledger.entries import Entry


@dataclass(frozen=True)
class FootprintFinding:
    footprint_id: str
    seq: int
    declared_unit: str  # both totals are kgCO2e per 1 of this unit
    declared: float | None
    computed: float | None  # None: no physical solution (see ``problem``)
    relative_difference: float | None
    flagged: bool
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "footprintId": self.footprint_id,
            "seq": self.seq,
            "declaredUnitOfMeasurement": self.declared_unit,
            "declared": self.declared,
            "computed": self.computed,
            "relativeDifference": self.relative_difference,
            "flagged": self.flagged,
            "problem": self.problem,
        }

    def __str__(self) -> str:
        rel = "" if self.relative_difference is None else f" ({self.relative_difference:+.1%})"
        mark = "FLAGGED " if self.flagged else ""
        per = f"kgCO2e per {self.declared_unit}"
        computed = self.problem if self.computed is None else f"computed {self.computed:.6g} {per}"
        return (
            f"{mark}seq {self.seq} footprint {self.footprint_id}: declared {self.declared} "
            f"{per}, {computed}{rel}"
        )


class FootprintRecompute:
    """Collects the engine's entries during the replay; computes once at the end."""

    def __init__(self, tolerance: float = 0.05) -> None:
        self.tolerance = tolerance
        self.active = ActiveFootprints()
        self.seq_of: dict[str, int] = {}

    def applied(self, entry: Entry, seq: int, timestamp_us: int) -> None:
        """Called for every entry the replay applied (it passed checks 2-4 and 7)."""
        if entry.type in ENGINE_ENTRY_TYPES:
            change = self.active.apply(entry, timestamp_us)
            for declaration in change.added:
                # a rebinding re-applies footprints recorded earlier: keep their own seq
                self.seq_of.setdefault(declaration.id, seq)

    def findings(self) -> list[FootprintFinding]:
        """Declared vs computed for every active footprint, in log order."""
        engine = self.active.engine(tolerance=self.tolerance)
        totals = engine.totals()
        flagged = engine.flagged()
        unphysical = engine.unphysical()
        out = []
        for fid, declaration in self.active.declarations.items():
            declared = None if declaration.declared_pcf is None else float(declaration.declared_pcf)
            unit = declaration.declared_unit
            loop = unphysical.get(fid)
            if loop is not None:
                problem = str(NoPhysicalSolutionError(list(loop), footprint_id=fid))
                out.append(
                    FootprintFinding(
                        fid, self.seq_of[fid], unit, declared, None, None, True, problem
                    )
                )
                continue
            computed = totals[fid]
            rel = None if not declared else (computed - declared) / abs(declared)
            out.append(
                FootprintFinding(
                    fid, self.seq_of[fid], unit, declared, computed, rel, fid in flagged
                )
            )
        return sorted(out, key=lambda f: f.seq)
