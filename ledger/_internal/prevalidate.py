"""The CPU-heavy, state-free half of accepting an entry, run on all cores.

Checking canonical form and verifying the Ed25519 signature need nothing but
the bytes and the public key, and ``cryptography`` holds the GIL while it
verifies, so the sequencer fans these checks out to worker processes in
chunks and keeps only the state-dependent rules for its own thread.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from ledger.canonical import parse_canonical
from ledger.errors import EntryRejectedError
from ledger.keys import verify_signature

# (entry bytes, public key or None when not yet known, signature)
Item = tuple[bytes, bytes | None, bytes]
# None: canonical and (when the key was known) correctly signed;
# otherwise (message, field, is_signature_failure)
Verdict = tuple[str, str, bool] | None

# Below this many items a batch is checked in the calling process: the round
# trip to a worker would cost more than it saves.
_MIN_PARALLEL = 64


def check_items(items: Sequence[Item]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for entry, public_key, signature in items:
        try:
            parse_canonical(entry)
        except EntryRejectedError as exc:
            verdicts.append((exc.reason, exc.field, False))
            continue
        if public_key is not None and not verify_signature(public_key, signature, entry):
            verdicts.append(("signature does not verify with the named key", "signature", True))
            continue
        verdicts.append(None)
    return verdicts


class Prevalidator:
    """Runs ``check_items`` over a batch, split across worker processes."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: Executor | None = None
        if self.workers > 1:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)

    def check(self, items: Sequence[Item]) -> list[Verdict]:
        if self._pool is None or len(items) < _MIN_PARALLEL:
            return check_items(items)
        step = -(-len(items) // self.workers)
        chunks = [items[i : i + step] for i in range(0, len(items), step)]
        verdicts: list[Verdict] = []
        for part in self._pool.map(check_items, chunks):
            verdicts.extend(part)
        return verdicts

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
