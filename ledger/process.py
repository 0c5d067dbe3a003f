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
