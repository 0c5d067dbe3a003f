"""Signature and canonical-form checks of record batches on every core.

These checks need only the entry bytes, a public key and a signature, and
``cryptography`` holds the GIL while verifying Ed25519, so they run in worker
processes. The public key is the one the replayed identity state named when
the batch was handed out; the engine re-verifies inline in the rare case that
the state changed in between (a key enrolled or rotated within the batch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future

from ledger.canonical import parse_canonical
from ledger.errors import EntryRejectedError
from ledger.keys import verify_signature
from ledger.process import worker_pool

# (entry bytes, public key or None when not known when the batch was cut, signature)
Item = tuple[bytes, bytes | None, bytes]
# (canonical-form error or None, signature verdict: None when no key was given)
Verdict = tuple[str | None, bool | None]

# Below this many items the round trip to a worker costs more than it saves.
_MIN_PARALLEL = 256
# Worker processes are started only for audits of at least this many records:
# starting them costs about a second, more than checking a small increment inline.
POOL_FROM = 4096


def check_items(items: Sequence[Item]) -> list[Verdict]:
    """Canonical form and signature of each item, in order."""
    verdicts: list[Verdict] = []
    for entry, public_key, signature in items:
        try:
            parse_canonical(entry)
        except EntryRejectedError as exc:
            verdicts.append((str(exc), None))
            continue
        ok = None if public_key is None else verify_signature(public_key, signature, entry)
        verdicts.append((None, ok))
    return verdicts


class PendingVerdicts:
    """Verdicts of one batch, being computed in the background."""

    def __init__(self, parts: list[Future[list[Verdict]]] | list[Verdict]) -> None:
        self._parts = parts

    def result(self) -> list[Verdict]:
        out: list[Verdict] = []
        for part in self._parts:
            if isinstance(part, Future):
                out.extend(part.result())
            else:
                out.append(part)
        return out


class VerifierPool:
    """A process pool sized to the machine (``workers=1`` checks in the calling process)."""

    def __init__(self, workers: int | None = None, expected: int | None = None) -> None:
        """``expected``: how many records the audit will check, if known."""
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: Executor | None = None
        if self.workers > 1 and (expected is None or expected >= POOL_FROM):
            self._pool = worker_pool(self.workers)

    def submit(self, items: Sequence[Item]) -> PendingVerdicts:
        """Start checking ``items``; the caller collects the verdicts later, in order."""
        if self._pool is None or len(items) < _MIN_PARALLEL:
            return PendingVerdicts(check_items(items))
        step = -(-len(items) // self.workers)
        chunks = [items[i : i + step] for i in range(0, len(items), step)]
        return PendingVerdicts([self._pool.submit(check_items, chunk) for chunk in chunks])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
