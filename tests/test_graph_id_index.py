"""``IdIndex``: the registry's key → ids multimap behaves as a multimap of sets would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.id_index import IdIndex

ops = st.lists(st.tuples(st.booleans(), st.sampled_from("ab"), st.sampled_from("xyz")))


@settings(max_examples=200, deadline=None)
@given(ops)
def test_index_equals_a_dict_of_sets(steps: list[tuple[bool, str, str]]) -> None:
    index: IdIndex[str] = IdIndex()
    model: dict[str, set[str]] = {}
    for add, key, fid in steps:
        if add:
            index.add([key], fid)
            model.setdefault(key, set()).add(fid)
        else:
            index.discard(key, fid)
            model.get(key, set()).discard(fid)
            if not model.get(key, True):
                del model[key]
        for k in "ab":
            assert set(index.get(k)) == model.get(k, set())
        assert len(index) == len(model)  # no key is left holding nothing


def test_one_id_is_held_without_a_container_and_keys_go_when_empty() -> None:
    index: IdIndex[tuple[str, str]] = IdIndex()
    index.add([("p", "c")], "f1")
    index.add([("p", "c")], "f1")  # the same footprint naming the key on a second line
    assert index.get(("p", "c")) == ("f1",)
    index.add([("p", "c")], "f2")
    index.discard(("p", "c"), "f1")
    assert index.get(("p", "c")) == ("f2",)
    index.discard(("p", "c"), "f2")
    assert index.get(("p", "c")) == ()
    assert not index._ids  # no empty entries left behind
