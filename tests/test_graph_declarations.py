"""``graph.declarations``: declarations stay packed after a load until something reads them.

A restarted gateway's snapshot held ≈40 Python objects per footprint; loading them was most
of its cold start. These tests hold the mapping to behaving as a plain dict whatever is
packed, to unpacking only what is read, and to packing a declaration shared by the active
set and the engine once.
"""

from __future__ import annotations

import pickle
from decimal import Decimal as D

import pytest

from graph.declarations import Declarations, _typical, pack, packing, unpack
from graph.engine import FootprintEngine
from graph.model import FootprintDeclaration, FootprintRef, InputLine, OwnEmission
from tests.test_graph_pickling import everything


def _decl(fid: str, cites: str | None = None) -> FootprintDeclaration:
    inputs = () if cites is None else (InputLine(FootprintRef(cites), D("2"), "kilogram"),)
    return FootprintDeclaration(
        id=fid,
        company_ids=(f"urn:c:{fid}",),
        product_ids=(f"urn:p:{fid}",),
        declared_unit="kilogram",
        own_emissions=(OwnEmission("main-production", "1", D("1.5")),),
        inputs=inputs,
    )


def _loaded(declarations: Declarations) -> Declarations:
    loaded = pickle.loads(pickle.dumps(declarations, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(loaded, Declarations)
    return loaded


def _filled(*ids: str) -> Declarations:
    declarations = Declarations()
    for fid in ids:
        declarations[fid] = _decl(fid)
    return declarations


def test_a_loaded_mapping_is_all_packed_and_reads_as_before() -> None:
    original = _filled("a", "b", "c")
    loaded = _loaded(original)
    assert len(loaded.packed()) == 3
    assert list(loaded) == ["a", "b", "c"] and len(loaded) == 3 and "b" in loaded
    assert loaded["b"] == original["b"]
    assert len(loaded.packed()) == 2  # only what was read was unpacked
    assert loaded.get("c") == original["c"] and loaded.packed() == ["a"]
    assert loaded.get("missing") is None and "missing" not in loaded
    with pytest.raises(KeyError):
        loaded["missing"]
    assert dict(loaded.items()) == dict(original.items())
    assert len(loaded.packed()) == 0


def test_packed_entries_can_be_replaced_and_removed_in_order() -> None:
    loaded = _loaded(_filled("a", "b", "c"))
    assert loaded.pop("b") == _decl("b")
    loaded["a"] = _decl("a", cites="c")
    del loaded["c"]
    loaded["d"] = _decl("d")
    assert list(loaded) == ["a", "d"]
    assert loaded["a"].inputs[0].ref == FootprintRef("c")
    again = _loaded(loaded)  # packed and unpacked ones pickle alike
    assert dict(again.items()) == dict(loaded.items())


def test_declarations_shared_by_two_mappings_are_packed_once() -> None:
    first, second = _filled("a", "b"), Declarations()
    second["b"] = first["b"]  # the same object, as in the active set and the registry
    alone = pickle.dumps((first, second), protocol=pickle.HIGHEST_PROTOCOL)
    with packing():
        together = pickle.dumps((first, second), protocol=pickle.HIGHEST_PROTOCOL)
    assert len(together) < len(alone)
    one, two = pickle.loads(together)
    assert one._items["b"] is two._items["b"]  # the loaded mappings share the bytes
    assert one["b"] == two["b"] == first["b"]


def test_after_a_save_the_mappings_hold_what_was_written_unless_they_changed() -> None:
    kept, changed = _filled("a", "b"), _filled("c")
    with packing() as packed:
        pickle.dumps((kept, changed), protocol=pickle.HIGHEST_PROTOCOL)
    changed["d"] = _decl("d")  # after pickling, before compacting: it is left as it is
    packed.compact()
    assert kept.packed() == ["a", "b"] and changed.packed() == []
    assert kept["a"] == _decl("a") and kept.packed() == ["b"]
    again = pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
    assert dict(pickle.loads(again).items()) == {"a": _decl("a"), "b": _decl("b")}


def test_every_kind_of_declaration_unpacks_as_it_was_packed() -> None:
    for declaration in (everything(), _typical(), _decl("a", cites="b")):
        assert unpack(pack(declaration)) == declaration
    assert len(pack(_typical())) < len(pickle.dumps(_typical())) / 4  # the dictionary works


def test_an_engine_loaded_from_a_pickle_unpacks_only_the_declaration_an_answer_is_about() -> None:
    chain = [_decl("d0"), *(_decl(f"d{i}", cites=f"d{i - 1}") for i in range(1, 6))]
    engine = FootprintEngine(chain)
    engine.compute()
    loaded: FootprintEngine = pickle.loads(pickle.dumps(engine))
    assert len(loaded._registry.footprints.packed()) == 6
    assert loaded.result("d2") == engine.result("d2")
    # a result reads its own declaration only: upstream ones are attributed to their
    # companies from the engine's arrays
    assert sorted(loaded._registry.footprints.packed()) == ["d0", "d1", "d3", "d4", "d5"]
    assert set(loaded.result("d2").by_supplier) == {"urn:c:d0", "urn:c:d1", "urn:c:d2"}
    loaded.apply([_decl("d6", cites="d5")])
    assert loaded.total("d6") == pytest.approx(1.5 + 2 * engine.total("d5"))
