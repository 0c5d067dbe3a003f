"""What a log-in at ``POST /auth/token`` (and so the page's log-in, which uses it)
may cost the gateway.

Secrets are hashed with argon2, so each guess is deliberately slow and takes
64 MiB while it is checked. Two limits keep that bounded:

* ``LoginThrottle``: failed authentications per minute, per address. Not per
  client id: an id is no secret, so counting its failures would let anyone lock
  its client out (and a 256-bit random secret cannot be guessed from many
  addresses either). An attempt is counted (a slot reserved) *before* its secret is checked,
  atomically, so concurrent attempts cannot all pass a check that only counted
  finished failures: once ``limit`` attempts are failed or still being checked,
  further attempts for that key are refused with 429 and ``Retry-After`` without
  any secret being checked (even a correct one, or guessing would only pause). A
  successful log-in gives its slot back, so legitimate clients logging in often
  are never throttled by their own successes. The counts live in this process
  (``limits``' moving window plus the attempts in flight); several gateway
  processes each keep their own, which multiplies the allowance by the process
  count but keeps it bounded.
* ``ProvenSecrets``: a secret this process has already checked with argon2 is
  recognised again by a keyed HMAC (constant-time compare) and needs no argon2
  check, no slot and no throttle: a legitimate client's next log-ins cannot be
  starved by a flood of bad ones, whoever sends it. (Secrets are 256-bit random,
  so a fast keyed hash of one is as unguessable as the secret itself.)
* ``SecretChecks``: at most ``concurrent`` secret checks at once in this process
  (whatever the client ids and addresses), on worker threads; callers beyond that
  wait on the event loop, holding no thread, for up to ``queue_seconds``, and are
  then refused with 503 and ``Retry-After``.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections import Counter, OrderedDict
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

    def reserve(self, address: str) -> int | None:
        """Count an attempt before its secret is checked: None if it may go ahead
        (then ``settle`` it), else the seconds to wait."""
        with self._lock:
            wait = self._wait(address)
            if wait is None:
                self._in_flight[address] += 1
            return wait

    def settle(self, address: str, *, failed: bool) -> None:
        """End a reserved attempt: a failure keeps counting for the window; anything
        else (a success, or a check that never ran) gives the slot back."""
        with self._lock:
            self._in_flight[address] -= 1
            if self._in_flight[address] <= 0:
                del self._in_flight[address]
            if failed:
                self._limiter.hit(self._item, address)

    def _wait(self, key: str) -> int | None:
        stats = self._limiter.get_window_stats(self._item, key)
        if stats.remaining > self._in_flight[key]:
            return None
        if stats.remaining > 0:  # the rest are being checked right now
            return 1
        return max(1, math.ceil(stats.reset_time - time.time()))


class ProvenSecrets:
    """Secrets checked with argon2 in this process, by client id, as HMACs under a
    key that never leaves the process; at most ``capacity`` clients (oldest out)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._key = secrets.token_bytes(32)
        self._capacity = capacity
        self._lock = threading.Lock()
        self._proven: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def remember(self, client_id: str, secret: str, secret_hash: str) -> None:
        with self._lock:
            self._proven[client_id] = (self._mac(client_id, secret), secret_hash)
            self._proven.move_to_end(client_id)
            while len(self._proven) > self._capacity:
                self._proven.popitem(last=False)

    def recall(self, client_id: str, secret: str) -> str | None:
        """The stored hash ``secret`` was proven against, if it was; else None."""
        with self._lock:
            known = self._proven.get(client_id)
        if known is None or not hmac.compare_digest(known[0], self._mac(client_id, secret)):
            return None
        return known[1]

    def forget(self, client_id: str) -> None:
        with self._lock:
            self._proven.pop(client_id, None)

    def _mac(self, client_id: str, secret: str) -> bytes:
        message = (
            client_id.encode("utf-8", "surrogatepass")
            + b"\x00"
            + secret.encode("utf-8", "surrogatepass")
        )
        return hmac.digest(self._key, message, "sha256")


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
