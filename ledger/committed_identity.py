"""The identity state readers trust: the latest committed one, in every process.

gRPC authentication, the gateway and the sequencer's own next batch read orgs and
keys through ``CommittedIdentity.current()``, which only ever returns a sealed
snapshot of records that are committed. The sequencer works on a fork of it and
publishes the fork after its commit succeeds, so a rolled-back batch's enrolment
or key never authorises anything, even for an instant.

Other processes may write to the same database (scaling out, see
docs/operations.md), so each process also follows the log: a thread asks the log
size every ``refresh_seconds`` and, when it grew, applies the identity entries
appended after the last record it applied, and only those (the ``record`` table's
(entry_type, seq) index answers that without reading anything older). A key
revoked or an org enrolled through any process is seen by every process within
about ``refresh_seconds`` plus one query; a poll that finds no new record costs
one small query.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable

from ledger._internal.rate_limited import RateLimitedWarning
from ledger.entries import parse_entry
from ledger.entries.identity import IDENTITY_TYPES
from ledger.rules import IdentityState
from ledger.store.log import LogStore, StoredRecord

log = logging.getLogger(__name__)
_follow_failed = RateLimitedWarning(log, 60.0)

DEFAULT_REFRESH_SECONDS = 0.5


class CommittedIdentity:
    def __init__(self, store: LogStore, refresh_seconds: float = DEFAULT_REFRESH_SECONDS) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._snapshot = IdentityState().seal()
        self._publishing = threading.Lock()
        self._stopping = threading.Event()
        self._follower = threading.Thread(
            target=self._follow, name="identity-follower", daemon=True
        )

    def current(self) -> IdentityState:
        """The latest committed identity (sealed: fork it to work on a next one)."""
        return self._snapshot

    def publish(self, snapshot: IdentityState) -> None:
        """Make ``snapshot`` (of committed records only) current, unless a later one
        already is; it is sealed either way."""
        snapshot.seal()
        with self._publishing:
            if snapshot.size > self._snapshot.size:
                self._snapshot = snapshot

    def catch_up(self) -> IdentityState:
        """Apply the identity entries committed since the current snapshot; the result.

        The size is read first: every record below it is committed (the sequencer lock
        orders commits), so the records read after it are exactly those of that log.
        """
        base = self._snapshot
        size = self._store.tree_size()
        if size > base.size:
            records = self._store.records(base.size, size, types=IDENTITY_TYPES)
            self.publish(advance(base, records, size))
        return self._snapshot

    def start(self) -> None:
        """Catch up now, then keep following the log on a thread of its own."""
        self.catch_up()
        self._follower.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._follower.is_alive():
            self._follower.join()

    def _follow(self) -> None:
        while not self._stopping.wait(self._refresh):
            try:
                self.catch_up()
            except Exception as exc:  # the database away: readers keep the last snapshot
                _follow_failed.warn("following the log's identity entries failed: %s", exc)


def advance(base: IdentityState, records: Iterable[StoredRecord], size: int) -> IdentityState:
    """A fork of ``base`` with ``records`` (the identity records from ``base.size`` up to
    ``size``, in order) applied and its size set to ``size``; ``base`` is unchanged."""
    state = base.fork()
    for record in records:
        state.apply(parse_entry(json.loads(record.entry)), record.seq)
    state.advance_to(size)
    return state
