"""``graph.store.RowStore``: rows read back exactly as last set, through any mix of row
replacements, new rows and merges of the overlay into the base."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graph.store import RowStore


def _as_dict(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True):
        out.setdefault(r, {})[c] = v
    return out


def test_rows_read_back_as_last_set_through_replacements_growth_and_merges() -> None:
    rng = np.random.default_rng(7)
    n = 40
    dense = (rng.random((n, n)) < 0.1) * rng.random((n, n))
    store = RowStore(sp.csr_array(dense))
    expected = {r: {c: dense[r, c] for c in np.flatnonzero(dense[r]).tolist()} for r in range(n)}
    for step in range(300):
        action = rng.random()
        if action < 0.1:
            store.grow(store.n + 3)
            for r in range(store.n - 3, store.n):
                expected[r] = {}
        elif action < 0.15:
            store.matrix()  # merges the overlay into the base
        else:
            r = int(rng.integers(0, store.n))
            cols = np.unique(rng.integers(0, store.n, size=int(rng.integers(0, 4))))
            vals = rng.random(cols.size)
            store.set_row(r, cols.astype(np.int64), vals)
            expected[r] = dict(zip(cols.tolist(), vals.tolist(), strict=True))
        asked = np.unique(rng.integers(0, store.n, size=8)).astype(np.int64)
        got = _as_dict(*store.rows(asked))
        want = {r: expected[r] for r in asked.tolist() if expected[r]}
        assert got == want, f"step {step}"
