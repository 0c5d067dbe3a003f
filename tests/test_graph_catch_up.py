"""``FootprintChange.merged``: a batch of entries reaches the engine as one net change, and
the engine it updates answers exactly as one built from the final active set."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from graph.engine import FootprintEngine
from graph.ledger_adapter import FootprintChange
from graph.model import EmissionFactor, FootprintDeclaration, InputLine, OwnEmission, ProductRef


def _decl(fid: str, product: str, own: str, cites: str | None = None) -> FootprintDeclaration:
    inputs = () if cites is None else (InputLine(ProductRef(cites, "urn:c:s"), D(2), "kilogram"),)
    return FootprintDeclaration(
        id=fid,
        company_ids=("urn:c:s",),
        product_ids=(product,),
        declared_unit="kilogram",
        own_emissions=(OwnEmission("main-production", "1", D(own)),),
        inputs=inputs,
    )


def test_the_net_change_of_a_batch() -> None:
    held = {"a", "b", "c"}.__contains__
    grid = EmissionFactor("s", "1", "grid", D("0.5"), "kilowatt hour")
    a2, a3, d = _decl("a2", "p:a", "2"), _decl("a3", "p:a", "3"), _decl("d", "p:d", "1")
    b_again = _decl("b", "p:b", "1")
    merged = FootprintChange.merged(
        [
            FootprintChange(added=[a2], removed=["a"]),  # a superseded by a2 ...
            FootprintChange(added=[a3], removed=["a2"]),  # ... then a2 by a3
            FootprintChange(added=[b_again], removed=["b"]),  # b re-applied (a rebinding)
            FootprintChange(added=[d]),
            FootprintChange(removed=["d"]),  # added and gone within the batch
            FootprintChange(removed=["c"], factors=[grid]),
        ],
        held,
    )
    assert merged.added == [a3, b_again]  # a2 and d never reach the engine
    assert merged.removed == ["a", "b", "c"]  # only what it holds
    assert merged.factors == [grid]


@pytest.mark.parametrize("split", [1, 2, 5])
def test_an_engine_updated_by_a_merged_batch_equals_one_built_from_its_result(split: int) -> None:
    """Supersessions along a chain of product citations, in batches of ``split`` changes."""
    chain = [_decl("p0", "p:0", "1")]
    chain += [_decl(f"p{i}", f"p:{i}", "1", cites=f"p:{i - 1}") for i in range(1, 6)]
    engine = FootprintEngine(chain)
    engine.compute()
    active = {d.id: d for d in chain}
    changes = []
    for version in range(1, 4):  # each product's footprint superseded three times, in turn
        for i in range(6):
            old = f"p{i}" if version == 1 else f"p{i}v{version - 1}"
            new = _decl(f"p{i}v{version}", f"p:{i}", str(version + i), cites=None)
            if i:
                new = _decl(new.id, f"p:{i}", str(version + i), cites=f"p:{i - 1}")
            changes.append(FootprintChange(added=[new], removed=[old]))
            del active[old]
            active[new.id] = new
    for start in range(0, len(changes), split):
        batch = FootprintChange.merged(changes[start : start + split], engine.__contains__)
        engine.apply(added=batch.added, removed=batch.removed)
    fresh = FootprintEngine(list(active.values()))
    assert engine.totals() == pytest.approx(fresh.totals(), rel=1e-12)
    assert set(engine.totals()) == set(active)
