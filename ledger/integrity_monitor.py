"""What this process found wrong with the store, so that health can say so.

Readers (``ledger.read.verified``) and the checkpointer (a tree it refuses to sign)
report here: one alarm line per failing seq, however often it is read again, and the
listeners (the gRPC health service's switch) are told once. So do the servers for an
index column holding a value of another type (``CorruptIndexError``). The gateway's
``/healthz`` answers from ``failed_seqs`` and ``failed_indexes``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ledger.errors import IntegrityError

log = logging.getLogger("ledger.integrity")

_MAX_REMEMBERED_FAILURES = 1000


class IntegrityMonitor:
    """The failing seqs of this process, and who to tell of a new one."""

    def __init__(self) -> None:
        self._failures: dict[int | str, str] = {}  # by ``IntegrityError.subject``
        self._listeners: list[Callable[[IntegrityError], None]] = []
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        return bool(self._failures)

    def failed_seqs(self) -> list[int]:
        with self._lock:
            return sorted(s for s in self._failures if isinstance(s, int))

    def failed_indexes(self) -> list[str]:
        """Index columns found holding a value of another type (``table.column``)."""
        with self._lock:
            return sorted(s for s in self._failures if isinstance(s, str))

    def on_failure(self, listener: Callable[[IntegrityError], None]) -> None:
        """Call ``listener`` at each new failing seq (the gRPC health service's switch)."""
        with self._lock:
            self._listeners.append(listener)

    def report(self, error: IntegrityError) -> None:
        with self._lock:
            if error.subject in self._failures:
                return
            if len(self._failures) >= _MAX_REMEMBERED_FAILURES:
                return  # already failing loudly; do not grow without bound
            self._failures[error.subject] = error.reason
            listeners = list(self._listeners)
        if isinstance(error.subject, str):
            log.error("INTEGRITY ALARM: index column %s: %s", error.subject, error.reason)
        else:
            log.error("INTEGRITY ALARM: record %d: %s; it is not served", error.seq, error.reason)
        for listener in listeners:
            listener(error)
