"""What each advance of the computed footprints' snapshot may have changed.

A computed footprint as served to one viewer rests on the footprint's engine result,
its evidence (attestations, retirements) and the viewer's access to the footprints its
breakdowns are cut by. An append changes a result only for footprints the engine
recomputes (the new or re-resolved ones and everything downstream of them), evidence
only for footprints named by a new attestation or retirement, and access only for the
grantee of a new grant (or anyone's, for a revocation: its entry names the grant, not
the grantee). ``ComputedFootprints`` records those sets here each time it takes in new
entries, so an answer computed at one log size can be served at a later one when
nothing recorded in between reaches it (``gateway.computed_served``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.entries import Entry
from ledger.entries.carbon.grants import Grant, GrantRevoke

#: Advances remembered: an answer older than all of them is computed anew.
KEPT_ADVANCES = 4096


@dataclass(frozen=True, slots=True)
class Advance:
    """The entries at seqs ``[start, stop)`` were taken in. ``footprints``: ids whose
    result or evidence may differ since ``start``; ``viewers``: orgs whose grants
    changed. None in either: any of them."""

    start: int
    stop: int
    footprints: frozenset[str] | None
    viewers: frozenset[str] | None

    def reaches(self, footprint_ids: frozenset[str], viewer: str) -> bool:
        """Whether an answer to ``viewer`` resting on ``footprint_ids`` may differ after it."""
        return (
            self.footprints is None
            or self.viewers is None
            or viewer in self.viewers
            or not self.footprints.isdisjoint(footprint_ids)
        )


def viewers_reached(entries: Iterable[Entry]) -> frozenset[str] | None:
    """The orgs whose access to footprints ``entries`` may change (None: any org's)."""
    viewers: set[str] = set()
    for entry in entries:
        if isinstance(entry, GrantRevoke):
            return None
        if isinstance(entry, Grant):
            viewers.add(entry.grantee)
    return frozenset(viewers)


class ChangeJournal:
    """The last ``KEPT_ADVANCES`` advances, contiguous in log order (thread-safe: written
    by the thread that advances the snapshot, read on the event loop)."""

    def __init__(self, kept: int = KEPT_ADVANCES) -> None:
        self._advances: deque[Advance] = deque(maxlen=kept)
        self._lock = threading.Lock()

    def record(self, advance: Advance) -> None:
        with self._lock:
            if self._advances and self._advances[-1].stop != advance.start:
                self._advances.clear()  # a gap: nothing before it can be vouched for
            self._advances.append(advance)

    def untouched(self, since: int, until: int, footprint_ids: frozenset[str], viewer: str) -> bool:
        """Whether nothing taken in between log sizes ``since`` and ``until`` reaches an
        answer to ``viewer`` resting on ``footprint_ids``. False when the journal does not
        cover the whole span (not yet advanced to ``until``, or ``since`` forgotten)."""
        if until <= since:
            return True
        with self._lock:
            newest = True
            for advance in reversed(self._advances):
                if advance.start >= until:
                    continue
                if newest and advance.stop < until:
                    return False
                newest = False
                if advance.reaches(footprint_ids, viewer):
                    return False
                if advance.start <= since:
                    return True
        return False
