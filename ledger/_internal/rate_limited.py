"""Warnings a client can cause, written to the log at a bounded rate."""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedWarning:
    """A warning line at most every ``interval`` seconds, counting the ones left out.

    A client can send refused entries as fast as it likes; the log must not grow
    with them (and a client's mistake is no server fault: no traceback).
    """

    def __init__(self, log: logging.Logger, interval: float) -> None:
        self._log = log
        self._interval = interval
        self._next = 0.0
        self._skipped = 0
        self._lock = threading.Lock()

    def warn(self, message: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._skipped += 1
                return
            skipped, self._skipped, self._next = self._skipped, 0, now + self._interval
        suffix = f" ({skipped} more since the last such warning)" if skipped else ""
        self._log.warning(message + suffix, *args)
