"""The CPU-heavy, state-free half of accepting an entry, run on all cores.

Checking canonical form, verifying the Ed25519 signature and validating the
entry against its model need nothing but the bytes and the public key, and
both ``cryptography`` and pydantic hold the GIL while they work, so the
sequencer fans these checks out to worker processes in chunks and keeps only
the state-dependent rules for its own thread. A worker sends back the
validated entry as the rules need it (``Entry.for_rules``), not its bulk.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ledger._internal.rate_limited import RateLimitedWarning
from ledger.canonical import parse_canonical
from ledger.entries import Entry, parse_entry
from ledger.errors import UNVERIFIED_SIGNATURE, EntryRejectedError
from ledger.keys import verify_signature
from ledger.process import leave_interrupts_to_the_parent, worker_pool

log = logging.getLogger(__name__)

# (entry bytes, public key or None when not yet known, signature)
Item = tuple[bytes, bytes | None, bytes]
# Why an item is refused: (message, field, is_signature_failure)
Refusal = tuple[str, str, bool]
# The entry, canonical, validated and (when the key was known) correctly signed,
# as the stateful rules get it; or why it is refused.
Verdict = Entry | Refusal

# What checking an entry costs, counted in bytes: its size plus a fixed part (an
# Ed25519 verification, a model validation) worth about this many bytes.
_ENTRY_COST_BYTES = 2048
# Below this cost (about 4 ms of work) a batch is checked in the calling process:
# the round trip to a worker would cost more than it saves. One large entry (a
# batch of meter readings) is enough to go to the workers; so are ~60 small ones.
_MIN_PARALLEL_BYTES = 128 * 1024
# Chunks of at most about this cost (~15 ms of work) keep every worker busy to the
# end of a batch (workers take the next chunk as they finish one).
_CHUNK_BYTES = 512 * 1024
# Chunks queued or being checked per worker: one to check and one to take next,
# so a worker never waits for the caller to gather and submit more.
_CHUNKS_PER_WORKER = 2


def check_items(items: Sequence[Item]) -> list[Verdict]:
    """The verdict on each item, in order: canonical form, then signature, then model.

    Whatever an item's bytes make a check raise is that item's refusal, never its
    chunk's: the items checked with it belong to other submitters.
    """
    verdicts: list[Verdict] = []
    for item in items:
        try:
            verdicts.append(_check_item(*item))
        except EntryRejectedError as exc:
            verdicts.append((exc.reason, exc.field, False))
        except Exception as exc:  # a check the bytes broke: refuse them, keep the chunk
            _unexpected.warn("an entry broke a check (%s: %s); refused it", type(exc).__name__, exc)
            verdicts.append((f"entry could not be checked ({type(exc).__name__})", "entry", False))
    return verdicts


def _check_item(entry: bytes, public_key: bytes | None, signature: bytes) -> Verdict:
    obj = parse_canonical(entry)
    if public_key is not None and not verify_signature(public_key, signature, entry):
        return (UNVERIFIED_SIGNATURE, "signature", True)
    return parse_entry(obj).for_rules()


_unexpected = RateLimitedWarning(log, 60.0)


def _start_worker() -> None:
    """Runs in each worker process once its imports are done.

    What is alive now (modules, models, validators) lives as long as the worker.
    Freezing it keeps the collector's full passes, which validating batches of
    readings sets off every few dozen batches, from walking all of it each time
    (measured: 1 ms of 6 per batch of 1,000 readings, before freezing).
    """
    leave_interrupts_to_the_parent()
    gc.freeze()


def cost(entry_bytes: int, entries: int) -> int:
    """What checking ``entries`` entries of ``entry_bytes`` in all costs, in bytes."""
    return entry_bytes + entries * _ENTRY_COST_BYTES


def _cost(item: Item) -> int:
    return cost(len(item[0]), 1)


def _chunks(items: Sequence[Item], parts: int) -> list[Sequence[Item]]:
    """``items`` in order, cut into at most ``parts`` runs of about equal cost."""
    total = sum(map(_cost, items))
    bounds = [0]
    done = 0
    for index, item in enumerate(items):
        if done * parts >= total * len(bounds):
            bounds.append(index)
        done += _cost(item)
    bounds.append(len(items))
    return [items[start:stop] for start, stop in itertools.pairwise(bounds) if start < stop]


class Prevalidator:
    """Runs ``check_items`` over batches in chunks on worker processes, in the
    background: verdicts come as futures, so the caller gathers the next batch
    while this one is checked.

    A worker that dies (killed by the OS for memory, say) breaks the pool: the
    chunks in flight fail, and their submissions are answered as retryable,
    never acknowledged. The next chunk starts a new pool.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._queued = 0  # chunks submitted to the workers and not yet checked
        self._room = threading.Condition()
        if self.workers > 1:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return worker_pool(self.workers, initializer=_start_worker)

    def checks_here(self, batch_cost: int) -> bool:
        """Whether a batch of this cost (see ``cost``) is checked in the calling process."""
        return self._pool is None or batch_cost < _MIN_PARALLEL_BYTES

    def wait_for_room(self) -> None:
        """Block while every worker has a chunk queued behind the one it checks."""
        with self._room:
            self._room.wait_for(lambda: self._queued < self.workers * _CHUNKS_PER_WORKER)

    def submit(self, items: Sequence[Item]) -> list[tuple[int, Future[list[Verdict]]]]:
        """Start checking ``items``, in chunks: (items in the chunk, its verdicts), in order.

        Returns at once when workers check them; a small batch is checked here.
        """
        total = sum(map(_cost, items))
        if self.checks_here(total):
            done: Future[list[Verdict]] = Future()
            done.set_result(check_items(items))
            return [(len(items), done)]
        checking = []
        for chunk in _chunks(items, max(self.workers, -(-total // _CHUNK_BYTES))):
            future = self._submit_chunk(chunk)
            with self._room:
                self._queued += 1
            future.add_done_callback(self._chunk_done)
            checking.append((len(chunk), future))
        return checking

    def _submit_chunk(self, chunk: Sequence[Item]) -> Future[list[Verdict]]:
        assert self._pool is not None  # checks_here is true without a pool
        try:
            return self._pool.submit(check_items, chunk)
        except BrokenProcessPool:
            log.warning("a check worker died; starting %d new ones", self.workers)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(check_items, chunk)

    def _chunk_done(self, _future: Future[list[Verdict]]) -> None:
        with self._room:
            self._queued -= 1
            self._room.notify_all()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
