"""The orderings of the engine's system against plain reference walks."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import depth_first_order

from graph.ordering import dfs_postorder, ranges


def _reference_postorder(k: int, rows: np.ndarray, cols: np.ndarray) -> list[int]:
    """Postorder of scipy's DFS tree, by walking it: a node after all of its subtree."""
    graph = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(k, k))
    pre, parent = depth_first_order(graph, 0, directed=True, return_predecessors=True)
    children: dict[int, list[int]] = {v: [] for v in range(k)}
    for v in pre.tolist()[1:]:
        children[int(parent[v])].append(v)
    out: list[int] = []
    stack = [(int(pre[0]), False)]
    while stack:
        v, done = stack.pop()
        if done:
            out.append(v)
            continue
        stack.append((v, True))
        stack.extend((c, False) for c in reversed(children[v]))
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 400), st.integers(0, 2**32 - 1))
def test_dfs_postorder_is_the_postorder_of_the_dfs_tree(k: int, seed: int) -> None:
    """A ring (so one strongly connected block) with random chords: the depths and subtree
    sizes solved over the tree give exactly the walked postorder."""
    rng = np.random.default_rng(seed)
    extra = int(rng.integers(0, 3 * k))
    rows = np.concatenate([(np.arange(k) + 1) % k, rng.integers(0, k, extra)])
    cols = np.concatenate([np.arange(k), rng.integers(0, k, extra)])
    assert dfs_postorder(k, rows, cols).tolist() == _reference_postorder(k, rows, cols)


def test_ranges_concatenates_each_range() -> None:
    starts, stops = np.array([3, 0, 7, 7]), np.array([5, 0, 10, 8])
    assert ranges(starts, stops).tolist() == [3, 4, 7, 8, 9, 7]
    assert ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0
