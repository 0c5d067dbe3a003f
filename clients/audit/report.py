"""The audit's result: every failure with its seq and reason, as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clients.audit.footprints import FootprintFinding
from clients.audit.model import Failure
from clients.audit.zero_carbon import ZeroCarbonFinding

INCREMENTAL_FOOTPRINTS = (
    "checks 8 and 12 (footprints recomputed from their composition, zero-carbon "
    "evaluations recomputed from the log) run when the whole log is read: use --from-scratch"
)


@dataclass
class AuditReport:
    origin: str = ""
    checkpoint_size: int = 0
    checkpoint_root: str = ""
    previous_size: int | None = None
    incremental: bool = False
    first_seq: int = 0
    entries_checked: int = 0
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0
    seconds: float = 0.0
    state_saved: bool = False
    notes: list[str] = field(default_factory=list)
    footprints: list[FootprintFinding] | None = None
    sampled: list[int] | None = None  # already-audited seqs re-checked (incremental)
    cosigners: list[str] | None = None  # with --policy: the witnesses whose cosignatures count
    zero_carbon: list[ZeroCarbonFinding] | None = None  # check 12, whole-log replays

    @property
    def ok(self) -> bool:
        return self.failure_count == 0

    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.failures if f.seq is not None]
        return min(seqs) if seqs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "checkpoint": {"size": self.checkpoint_size, "root": self.checkpoint_root},
            "previousCheckpointSize": self.previous_size,
            "incremental": self.incremental,
            "fromSeq": self.first_seq,
            "entriesChecked": self.entries_checked,
            "firstBadSeq": self.first_bad_seq(),
            "failureCount": self.failure_count,
            "failures": [f.to_json() for f in self.failures],
            "seconds": round(self.seconds, 3),
            "stateSaved": self.state_saved,
            "cosigners": self.cosigners,
            "sampled": None
            if self.sampled is None
            else {
                "count": len(self.sampled),
                "firstSeq": min(self.sampled, default=None),
                "lastSeq": max(self.sampled, default=None),
            },
            "notes": self.notes,
            "footprints": None
            if self.footprints is None
            else [f.to_json() for f in self.footprints],
            "zeroCarbon": None
            if self.zero_carbon is None
            else [f.to_json() for f in self.zero_carbon],
        }

    def to_text(self) -> str:
        mode = "incremental" if self.incremental else "full"
        lines = [
            f"audit of {self.origin or '?'} at checkpoint size {self.checkpoint_size} ({mode}, "
            f"{self.entries_checked} entries from seq {self.first_seq} in {self.seconds:.1f}s)"
        ]
        if self.previous_size is not None:
            lines.append(f"previous audited checkpoint: size {self.previous_size}")
        if self.cosigners is not None:
            lines.append(f"witness quorum met ({', '.join(self.cosigners) or 'none needed'})")
        if self.sampled is not None:
            lines.append(
                f"re-checked {len(self.sampled)} already-audited record(s) by inclusion proof"
                + (f", seqs {min(self.sampled)}..{max(self.sampled)}" if self.sampled else "")
            )
        if self.ok:
            lines.append("OK: every check holds")
        else:
            bad = self.first_bad_seq()
            where = f"; first bad seq {bad}" if bad is not None else ""
            lines.append(f"FAILED: {self.failure_count} failure(s){where}")
            lines.extend(f"  {f}" for f in self.failures)
            if self.failure_count > len(self.failures):
                lines.append(f"  ... and {self.failure_count - len(self.failures)} more")
        if self.footprints is not None:
            flagged = sum(f.flagged for f in self.footprints)
            lines.append(
                f"footprints recomputed: {len(self.footprints)} active, {flagged} differ from "
                "their declared total beyond tolerance"
            )
            lines.extend(f"  {f}" for f in self.footprints)
        if self.zero_carbon:
            invalidated = sum(
                a["status"] == "invalidated"
                for f in self.zero_carbon
                for a in f.expected["attestations"]
            )
            lines.append(
                f"zero-carbon evaluations recomputed: {len(self.zero_carbon)} site-year(s), "
                f"{invalidated} attestation(s) no longer current"
            )
            lines.extend(f"  {f}" for f in self.zero_carbon)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)
