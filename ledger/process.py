"""Process-wide settings for a long-running ``serve`` process.

A server builds most of its long-lived objects at start-up (the app, the identity
state, the computed-footprint engine, connection pools). CPython's cyclic collector
would keep re-scanning them in every full collection, and with the default gen-0
threshold of 700 allocations a busy request loop triggers a collection every few
requests; each pause lands on whichever request is running, which is what makes
the p99 latency of the gateway a multiple of its median. Freezing the start-up
heap and collecting young objects less often removes most of those pauses.
Unreachable cycles are still collected; only objects alive at start-up are exempt.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver

# Allocations between young-generation collections (CPython's default is 700).
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_heap_after_startup() -> None:
    """Collect once, move every surviving object out of the collector's reach, and
    collect the young generation less often. Call once, after start-up, in a process
    that will serve until it exits (not in a library or a test process: objects alive
    now are never collected afterwards)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def leave_interrupts_to_the_parent() -> None:
    """Ignore SIGINT in a worker process (call first thing, in its initializer).

    Ctrl-C in a terminal reaches every process of the foreground group, workers
    included; the parent handles it and shuts its pool down, while an interrupted
    worker would only print a ``KeyboardInterrupt`` traceback (and break the pool
    under the batches still being checked)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_forkserver_deaf_to_interrupts() -> None:
    """Start multiprocessing's fork server, if it is not running yet, with SIGINT
    ignored. A process started with SIGINT ignored keeps it ignored (Python installs
    no handler then), and so does every worker the fork server forks: a Ctrl-C cannot
    reach a worker even while it is still importing, before its initializer runs
    (workers start on demand, under load). Signal handlers can only be changed in the
    main thread; elsewhere the server starts as it would anyway."""
    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def worker_pool(
    workers: int, initializer: Callable[[], None] = leave_interrupts_to_the_parent
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes forked from a fresh-import fork server (never
    from a threaded parent) that never see Ctrl-C: the parent alone stops them.
    ``initializer`` must begin with ``leave_interrupts_to_the_parent()``."""
    context = multiprocessing.get_context("forkserver")
    start_forkserver_deaf_to_interrupts()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)
