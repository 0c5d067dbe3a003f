"""Which clients' tokens to refuse: the revoked ones, as every gateway process sees them.

Tokens are stateless, so a revoked client's tokens would otherwise work until they
expire. Each process keeps the ids revoked within the token lifetime (older
revocations can have no live token) and re-reads them from the shared database when
its copy is older than ``refresh_seconds``: a revocation takes effect in every
process within that time, and costs one small query per process per interval, not
one per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, select

from gateway.tables import RevokedClientRow

_RC = RevokedClientRow.__table__  # type: ignore[attr-defined]
DEFAULT_REFRESH_SECONDS = 1.0
# Clocks of gateway processes may differ this much.
_CLOCK_SLACK_SECONDS = 300


class RevokedClients:
    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[Connection]],
        token_ttl: int,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        self._connect = connect
        self._horizon_us = (token_ttl + _CLOCK_SLACK_SECONDS) * 1_000_000
        self._refresh = refresh_seconds
        self._ids: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def __contains__(self, client_id: object) -> bool:
        if time.monotonic() - self._read_at >= self._refresh:
            self._reread()
        return client_id in self._ids

    def _reread(self) -> None:
        with self._lock:
            started = time.monotonic()
            if started - self._read_at < self._refresh:
                return  # another thread just did
            since = time.time_ns() // 1000 - self._horizon_us
            with self._connect() as conn:
                rows = conn.execute(select(_RC.c.client_id).where(_RC.c.revoked_us >= since))
                self._ids = frozenset(row.client_id for row in rows)
            self._read_at = started
