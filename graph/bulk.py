"""Building the engine's arrays from a whole set of declarations in one pass.

At 10⁶ footprints the build is the engine's longest step, so it keeps nothing per footprint
that the arrays already hold: each declaration is resolved (:func:`build_node`), its row of
``Aᵀ`` is appended to flat typed buffers (``array``, 8 bytes an entry, no Python object per
entry) that are the CSR arrays themselves (rows come in index order: no COO step), its
direct total goes into ``e``, and only what results need and arrays cannot hold stays as
Python objects: the direct items (shared labels, shared data-quality objects) and,
sparsely, gaps and input errors.

For a large build (``PAUSE_GC_FROM``) Python's cyclic garbage collector is paused for the
pass: it allocates millions of objects, none of them in reference cycles, and each
automatic full collection during the pass would walk all of them (and the caller's
declarations) again. When the pass succeeds, everything alive is then moved to the
collector's permanent generation (``gc.freeze``) instead of being settled by a full
collection: the engine's state is long-lived and acyclic (``tests/test_engine_views.py``
drops a built engine and finds no cyclic garbage), so the collector has nothing to gain
from walking it, and a full collection at 10⁶ footprints walks ≈3·10⁷ objects, mostly the
caller's declarations: 5.6 s of a 23.6 s build, and it found nothing to free. Frozen
objects are still freed by reference counting when the engine lets go of them.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from graph.model import FootprintDeclaration
from graph.solve import FloatArray
from graph.store import RowStore
from graph.supply_graph import DirectItem, Gap, InputError, Registry, build_node

Problems = tuple[tuple[Gap, ...], tuple[InputError, ...]]


class BulkBuild(NamedTuple):
    """The engine's state for a set of declarations, indexed as given."""

    store: RowStore
    e: FloatArray
    direct: list[tuple[DirectItem, ...]]
    problems: dict[int, Problems]


#: builds of at least this many declarations pause the collector (a full collection walks
#: the whole process: worth it to save many of them, not for a small engine)
PAUSE_GC_FROM = 50_000


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause automatic cyclic garbage collection for a bulk pass and restore it as it was.

    On success what is alive goes to the permanent generation (see the module doc); on an
    error it does not, so the collector can still settle what the failed pass left."""
    was_enabled = gc.isenabled()
    gc.disable()
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        if was_enabled:
            if succeeded:
                gc.freeze()
            gc.enable()


def build_all(
    decls: Sequence[FootprintDeclaration], registry: Registry, index: Mapping[str, int]
) -> BulkBuild:
    """Register ``decls`` and build their rows; ``index`` maps each id to its position."""
    counts = array("q")
    cols = array("q")
    vals = array("d")
    e = array("d")
    direct: list[tuple[DirectItem, ...]] = []
    problems: dict[int, Problems] = {}
    with gc_paused() if len(decls) >= PAUSE_GC_FROM else nullcontext():
        for decl in decls:
            registry.add(decl)
        for i, decl in enumerate(decls):
            build = build_node(decl, registry)
            counts.append(len(build.inputs))
            cols.extend(map(index.__getitem__, build.inputs))
            vals.extend(build.inputs.values())
            e.append(build.direct_total)
            direct.append(build.direct)
            if build.gaps or build.errors:
                problems[i] = (build.gaps, build.errors)
                registry.record_unresolved(decl, build)
    n = len(decls)
    # rows were appended in index order, so they are CSR already: no COO → CSR conversion
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(counts, dtype=np.int64), out=indptr[1:])
    base = sp.csr_array(
        (np.frombuffer(vals, dtype=np.float64), np.frombuffer(cols, dtype=np.int64), indptr),
        shape=(n, n),
    )
    return BulkBuild(RowStore(base), np.frombuffer(e, dtype=np.float64).copy(), direct, problems)
