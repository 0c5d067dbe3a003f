"""Throttling failed client authentications at ``POST /auth/token`` (and so the page's
log-in, which uses it).

Secrets are hashed with argon2, so each guess is deliberately slow; without a limit
an attacker could still try secrets for one client id indefinitely, and every wrong
guess would cost the gateway an argon2 verification. After ``limit`` failures within
the window, for one client id or from one address, further attempts for that key are
refused with 429 and ``Retry-After`` before any secret is checked (even a correct
one, or guessing would only pause). The counts live in this process (``limits``'
moving window); several gateway processes each keep their own, which multiplies the
allowance by the process count but keeps it bounded.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

DEFAULT_FAILURES_PER_MINUTE = 10


class LoginThrottle:
    def __init__(self, failures_per_minute: int = DEFAULT_FAILURES_PER_MINUTE) -> None:
        self._item: RateLimitItem = RateLimitItemPerMinute(failures_per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, client_id: str, address: str) -> int | None:
        """Seconds to wait if either key has used up its failures, else None."""
        waits = []
        for key in _keys(client_id, address):
            if not self._limiter.test(self._item, key):
                reset = self._limiter.get_window_stats(self._item, key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, client_id: str, address: str) -> None:
        """Count one failed authentication against the client id and the address."""
        for key in _keys(client_id, address):
            self._limiter.hit(self._item, key)


def _keys(client_id: str, address: str) -> tuple[str, str]:
    return f"client:{client_id}", f"address:{address}"
