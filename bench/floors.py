"""Per-entry work every ledger and audit path must do besides the signature.

Accepting or auditing an entry needs, before any stateful rule: the check that
its bytes are RFC 8785 canonical, a strict schema parse (the rules read the
parsed entry), and the entry hash its record commits to. Measured on the same
processes as the Ed25519 reference, this gives an upper bound for any
implementation on this stack: both costs land on the same cores, so no path
can exceed ``1 / (1/verify + 1/floor)`` entries/s.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from ledger.canonical import parse_canonical
from ledger.entries import parse_entry
from ledger.record import entry_hash


def _stateless_chunk(entries: list[bytes]) -> int:
    for entry in entries:
        parse_entry(parse_canonical(entry))
        entry_hash(entry)
    return len(entries)


def stateless_rate(entries: list[bytes], workers: int) -> float:
    """Entries/s of canonical check + schema parse + entry hash on ``workers`` processes."""
    step = -(-len(entries) // (workers * 8))
    chunks = [entries[i : i + step] for i in range(0, len(entries), step)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_stateless_chunk, [c[:10] for c in chunks[:workers]]))  # warm up
        started = time.perf_counter()
        done = sum(pool.map(_stateless_chunk, chunks))
        return done / (time.perf_counter() - started)


def bound(*rates: float) -> float:
    """Entries/s when each entry needs every one of these, all on the same cores."""
    return 1 / sum(1 / r for r in rates)
