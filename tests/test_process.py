"""``settle_heap_after_startup`` in a process of its own (it changes process-wide state)."""

from __future__ import annotations

import subprocess
import sys

from ledger.process import YOUNG_GENERATION_THRESHOLD


def test_settle_freezes_the_startup_heap_and_raises_the_young_threshold() -> None:
    script = (
        "import gc\n"
        "from ledger.process import settle_heap_after_startup\n"
        "alive = [object() for _ in range(1000)]\n"
        "before = gc.get_freeze_count()\n"
        "settle_heap_after_startup()\n"
        "print(before, gc.get_freeze_count(), gc.get_threshold()[0])\n"
        "cycle = []; cycle.append(cycle); del cycle\n"
        "print(gc.collect())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    before, frozen, threshold = (int(x) for x in out[0].split())
    assert before == 0
    assert frozen >= 1000  # everything alive at start-up, the list's objects included
    assert threshold == YOUNG_GENERATION_THRESHOLD
    # Garbage made after start-up is still collected.
    assert int(out[1]) >= 1
