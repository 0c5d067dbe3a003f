"""What a log-in at ``POST /auth/token`` (and so the page's log-in, which uses it)
may cost the gateway.

Secrets are hashed with argon2, so each guess is deliberately slow and takes
64 MiB while it is checked. Two limits keep that bounded:

* ``LoginThrottle``: failed authentications per minute, per client id and per
  address. An attempt is counted (a slot reserved) *before* its secret is checked,
  atomically, so concurrent attempts cannot all pass a check that only counted
  finished failures: once ``limit`` attempts are failed or still being checked,
  further attempts for that key are refused with 429 and ``Retry-After`` without
  any secret being checked (even a correct one, or guessing would only pause). A
  successful log-in gives its slot back, so legitimate clients logging in often
  are never throttled by their own successes. The counts live in this process
  (``limits``' moving window plus the attempts in flight); several gateway
  processes each keep their own, which multiplies the allowance by the process
  count but keeps it bounded.
* ``SecretChecks``: at most ``concurrent`` secret checks at once in this process
  (whatever the client ids and addresses), on worker threads; callers beyond that
  wait on the event loop, holding no thread, for up to ``queue_seconds``, and are
  then refused with 503 and ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

DEFAULT_FAILURES_PER_MINUTE = 10
# Each argon2 check of a secret takes 64 MiB (argon2-cffi's RFC 9106 "low memory"
# profile) and a few tens of milliseconds of one core.
DEFAULT_CONCURRENT_CHECKS = 2
DEFAULT_QUEUE_SECONDS = 10.0

T = TypeVar("T")


class LoginThrottle:
    def __init__(self, failures_per_minute: int = DEFAULT_FAILURES_PER_MINUTE) -> None:
        self._item: RateLimitItem = RateLimitItemPerMinute(failures_per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def reserve(self, client_id: str, address: str) -> int | None:
        """Count an attempt before its secret is checked: None if it may go ahead
        (then ``settle`` it), else the seconds to wait."""
        keys = _keys(client_id, address)
        with self._lock:
            waits = [wait for key in keys if (wait := self._wait(key)) is not None]
            if waits:
                return max(waits)
            self._in_flight.update(keys)
        return None

    def settle(self, client_id: str, address: str, *, failed: bool) -> None:
        """End a reserved attempt: a failure keeps counting for the window; anything
        else (a success, or a check that never ran) gives the slot back."""
        keys = _keys(client_id, address)
        with self._lock:
            self._in_flight.subtract(keys)
            for key in keys:
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]
                if failed:
                    self._limiter.hit(self._item, key)

    def _wait(self, key: str) -> int | None:
        stats = self._limiter.get_window_stats(self._item, key)
        if stats.remaining > self._in_flight[key]:
            return None
        if stats.remaining > 0:  # the rest are being checked right now
            return 1
        return max(1, math.ceil(stats.reset_time - time.time()))


class ChecksBusy(Exception):
    """More secret checks were waiting than could start within the queue time."""


class SecretChecks:
    def __init__(
        self,
        concurrent: int = DEFAULT_CONCURRENT_CHECKS,
        queue_seconds: float = DEFAULT_QUEUE_SECONDS,
    ) -> None:
        self._concurrent = concurrent
        self._queue_seconds = queue_seconds
        self._slots: anyio.Semaphore | None = None

    async def run(self, check: Callable[..., T], *args: object) -> T:
        """``check(*args)`` on a worker thread once one of the slots is free;
        ``ChecksBusy`` if none frees up within the queue time."""
        if self._slots is None:  # created on the event loop that serves the app
            self._slots = anyio.Semaphore(self._concurrent)
        try:
            with anyio.fail_after(self._queue_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ChecksBusy from None
        try:
            return await anyio.to_thread.run_sync(check, *args)
        finally:
            self._slots.release()


def _keys(client_id: str, address: str) -> tuple[str, str]:
    return f"client:{client_id}", f"address:{address}"
