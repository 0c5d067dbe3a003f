"""``graph.direct_items``: an engine's direct items pickle as columns and come back equal.

A restarted gateway made ≈1.5·10⁶ direct-item objects from its snapshot at 10⁶ footprints
before its first answer; these tests hold the column form to giving back exactly the items
pickled (amounts bit for bit, strings and ratings equal), whatever was read, replaced or
appended between one pickle and the next.
"""

from __future__ import annotations

import math
import pickle
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.direct_items import DirectItems, Items
from graph.engine import FootprintEngine
from graph.model import DataQuality
from graph.supply_graph import DirectItem
from tests.test_graph_declarations import _decl
from tests.test_graph_pickling import everything

_RATINGS = [DataQuality(), DataQuality(D("1.5"), D(2), D(1)), DataQuality(D("1.50"), D(2), D(1))]

_items = st.lists(
    st.builds(
        DirectItem,
        st.sampled_from(["own", "factor", "recycling"]),
        st.text(max_size=12),
        st.sampled_from(["raw-material-acquisition", "main-production", "end-of-life"]),
        st.sampled_from(["1", "2", "3"]),
        st.floats(allow_nan=False) | st.sampled_from([-0.0, math.inf, 5e-324]),
        st.sampled_from(_RATINGS),
    ),
    max_size=4,
).map(tuple)


def _loaded(direct: DirectItems) -> DirectItems:
    loaded = pickle.loads(pickle.dumps(direct, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(loaded, DirectItems)
    return loaded


def _same(a: Items, b: Items) -> bool:
    """Equal, with amounts compared bit for bit (``-0.0`` is not ``0.0``) and ratings
    equal in their digits (``1.50`` is not ``1.5``)."""
    return len(a) == len(b) and all(
        x[:4] == y[:4]
        and math.copysign(1, x.kg_co2e) == math.copysign(1, y.kg_co2e)
        and x.kg_co2e == y.kg_co2e
        and repr(x.dqr) == repr(y.dqr)
        for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_items, max_size=12),
    st.data(),
)
def test_items_come_back_equal_whatever_happened_between_two_pickles(
    first: list[Items], data: st.DataObject
) -> None:
    expected = list(first)
    loaded = _loaded(DirectItems(first))
    assert len(loaded) == len(expected) and loaded.unpacked() == []
    # between this load and the next pickle: reads, replacements and appends
    for _ in range(data.draw(st.integers(0, 8))):
        action = data.draw(st.sampled_from(["read", "set", "append"]))
        if action == "append" or not expected:
            items = data.draw(_items)
            loaded.append(items)
            expected.append(items)
            continue
        index = data.draw(st.integers(0, len(expected) - 1))
        if action == "read":
            assert _same(loaded[index], expected[index])
        else:
            items = data.draw(_items)
            loaded[index] = items
            expected[index] = items
    again = _loaded(loaded)
    assert len(again) == len(expected)
    for index, items in enumerate(expected):
        assert _same(again[index], items), index
    # made together, in any order and with repeats, they are the same
    order = data.draw(st.lists(st.integers(0, len(expected) - 1), max_size=20)) if expected else []
    together = _loaded(loaded).items_of(order)
    for index, items in zip(order, together, strict=True):
        assert _same(items, expected[index]), index


def test_only_what_is_read_is_made_again() -> None:
    own = DirectItem("own", "main-production scope 1", "main-production", "1", 5.0, _RATINGS[1])
    loaded = _loaded(DirectItems([(own,), (), (own, own)]))
    assert loaded.unpacked() == []
    assert loaded[2] == (own, own) and loaded.unpacked() == [2]
    assert loaded[1] == () and loaded.unpacked() == [1, 2]


def test_a_restored_engine_makes_only_the_items_its_answers_read() -> None:
    decls = [everything(), _decl("a"), _decl("b", cites="a"), _decl("c")]
    engine = FootprintEngine(decls)
    engine.compute()
    restored = pickle.loads(pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored._direct.unpacked() == []
    assert restored.result("b") == engine.result("b")
    assert restored._direct.unpacked() == [1, 2]  # b and what it consumes, a
    assert restored.result("cell-2026") == engine.result("cell-2026")
