"""Each footprint's direct items, by engine index: objects in memory, columns in a pickle.

An engine of 10⁶ footprints holds ≈1.5·10⁶ direct items. Pickled as objects, an engine
snapshot made each again on load, a named tuple in a tuple per footprint: about 1 s of a
10⁶-entry cold start, although a running gateway reads only the items of the footprints
its answers reach. Pickled here as columns (amounts in an array; kinds, labels, stages,
scopes and data-quality ratings as codes into tables of their distinct values), they load
in milliseconds, and a footprint's items are made again on first read, equal to those
pickled (amounts exact, strings and ratings equal).

A loaded :class:`DirectItems` pickles again by copying the columns of the footprints not
read or replaced since, so a gateway saving snapshot after snapshot makes objects only
for what it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from graph.bulk import PAUSE_GC_FROM, gc_paused
from graph.model import DataQuality
from graph.solve import FloatArray, IntArray
from graph.supply_graph import DirectItem

Items = tuple[DirectItem, ...]
Codes = npt.NDArray[np.int32]


class _Columns(NamedTuple):
    """Items of footprints ``0 … len(offsets) - 2``: footprint ``i``'s are the rows
    ``offsets[i]:offsets[i + 1]`` of the other arrays."""

    offsets: IntArray
    kinds: Codes  # codes into ``strings``, as labels, stages and scopes
    labels: Codes
    stages: Codes
    scopes: Codes
    kg_co2e: FloatArray
    qualities: Codes  # codes into ``ratings``
    strings: list[str]
    ratings: list[DataQuality]


class DirectItems:
    """``index → direct items`` for an engine's footprints (``()`` for removed ones), a
    list that pickles as columns and, once loaded, makes each footprint's items on first
    read."""

    __slots__ = ("_columns", "_items")

    def __init__(self, items: Iterable[Items] = ()) -> None:
        self._items: list[Items | None] = list(items)  # None: still in the columns
        self._columns: _Columns | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Items:
        items = self._items[index]
        return items if items is not None else self.items_of([index])[0]

    def items_of(self, indexes: Sequence[int]) -> list[Items]:
        """The items of each of ``indexes``, in order, those still in the columns made
        together: one pass over their rows instead of a slice per footprint (a result
        downstream of a loop of 10⁵ footprints reads them all)."""
        held = self._items
        missing = [i for i in indexes if held[i] is None]
        if missing:
            assert self._columns is not None, "only a loaded list holds None"
            # millions of new objects, none in a cycle: the collector would walk them again
            # and again while they are made (2.9 s instead of 0.9 s for 7·10⁵ footprints)
            with gc_paused() if len(missing) >= PAUSE_GC_FROM else nullcontext():
                made = _unpack_many(self._columns, missing)
            for index, items in zip(missing, made, strict=True):
                held[index] = items
        return cast(list[Items], [held[i] for i in indexes])  # all made above

    def __setitem__(self, index: int, items: Items) -> None:
        self._items[index] = items

    def append(self, items: Items) -> None:
        self._items.append(items)

    def unpacked(self) -> list[int]:
        """The indexes whose items are held as objects (for tests)."""
        return [i for i, items in enumerate(self._items) if items is not None]

    def __getstate__(self) -> _Columns:
        return _repack(self._columns, self._items)

    def __setstate__(self, columns: _Columns) -> None:
        self._columns = columns
        self._items = [None] * (len(columns.offsets) - 1)


def _unpack_many(columns: _Columns, indexes: Sequence[int]) -> list[Items]:
    """The items of each of ``indexes``, made from the columns."""
    at = np.asarray(indexes, dtype=np.int64)
    starts = columns.offsets[at]
    counts = columns.offsets[at + 1] - starts
    # the rows of all of them, in order: each index's run of rows, concatenated
    rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    strings, ratings = columns.strings, columns.ratings
    made = [
        DirectItem(strings[k], strings[lab], strings[st], strings[sc], kg, ratings[q])
        for k, lab, st, sc, kg, q in zip(
            columns.kinds[rows].tolist(),
            columns.labels[rows].tolist(),
            columns.stages[rows].tolist(),
            columns.scopes[rows].tolist(),
            columns.kg_co2e[rows].tolist(),
            columns.qualities[rows].tolist(),
            strict=True,
        )
    ]
    found: list[Items] = []
    position = 0
    for count in counts.tolist():
        found.append(tuple(made[position : position + count]))
        position += count
    return found


def _repack(old: _Columns | None, items: Sequence[Items | None]) -> _Columns:
    """Columns of ``items``, where ``None`` stands for the same index's items in ``old``,
    copied as they are (their codes stay valid: the tables only grow)."""
    strings = {s: c for c, s in enumerate(old.strings)} if old is not None else {}
    # ratings by their repr: equal ones may differ in their digits (1.50 and 1.5)
    ratings = {repr(r): (c, r) for c, r in enumerate(old.ratings)} if old is not None else {}
    rating_of_object: dict[int, int] = {}  # id → code: the objects are shared, repr is not free

    def rating_code(rating: DataQuality) -> int:
        code = rating_of_object.get(id(rating))
        if code is None:
            code = ratings.setdefault(repr(rating), (len(ratings), rating))[0]
            rating_of_object[id(rating)] = code
        return code

    counts = np.zeros(len(items), dtype=np.int64)
    codes: list[Codes] = []  # kinds, labels, stages, scopes, qualities: one row per part
    amounts: list[FloatArray] = []
    made: list[DirectItem] = []  # the items of the current run of indexes held as objects

    def flush() -> None:
        if made:
            code = strings.setdefault
            rows = [
                [code(i.kind, len(strings)) for i in made],
                [code(i.label, len(strings)) for i in made],
                [code(i.stage, len(strings)) for i in made],
                [code(i.scope, len(strings)) for i in made],
                [rating_code(i.dqr) for i in made],
            ]
            codes.append(np.array(rows, dtype=np.int32).reshape(5, len(made)))
            amounts.append(np.array([i.kg_co2e for i in made], dtype=np.float64))
            made.clear()

    index = 0
    while index < len(items):
        held = items[index]
        if held is not None:
            counts[index] = len(held)
            made.extend(held)
            index += 1
            continue
        assert old is not None, "None stands for an index of the loaded columns"
        stop = index + 1  # the run of indexes still in ``old``
        while stop < len(items) and items[stop] is None:
            stop += 1
        flush()
        lo, hi = int(old.offsets[index]), int(old.offsets[stop])
        counts[index:stop] = np.diff(old.offsets[index : stop + 1])
        old_codes = (old.kinds, old.labels, old.stages, old.scopes, old.qualities)
        codes.append(np.stack([c[lo:hi] for c in old_codes]))
        amounts.append(old.kg_co2e[lo:hi])
        index = stop
    flush()
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    table = np.concatenate(codes, axis=1) if codes else np.empty((5, 0), dtype=np.int32)
    return _Columns(
        offsets,
        table[0].copy(),
        table[1].copy(),
        table[2].copy(),
        table[3].copy(),
        np.concatenate(amounts) if amounts else np.empty(0),
        table[4].copy(),
        list(strings),
        [rating for _, rating in ratings.values()],
    )
