"""Engine snapshots pickle the model's frozen dataclasses through ``graph.pickling``.

``@dataclass(slots=True)`` writes its own ``__getstate__``/``__setstate__`` over any a base
class defines, so a mixin built on those two is silently never used; these tests hold the
fast path to being the one pickle takes, and to loading exactly what was dumped.
"""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

import graph.circular
import graph.model
import graph.supply_graph
from graph.circular import CffParameters, EnergyRecovery
from graph.model import (
    DataQuality,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
    ProductRef,
    RecycledContent,
)
from ledger.slots_pickle import SlotsPickle, _restore

MODEL_CLASSES = sorted(
    {
        cls
        for module in (graph.model, graph.circular, graph.supply_graph)
        for cls in vars(module).values()
        if isinstance(cls, type)
        and cls is not SlotsPickle
        and issubclass(cls, SlotsPickle)
        and dataclasses.is_dataclass(cls)
    },
    key=lambda cls: cls.__name__,
)


def everything() -> FootprintDeclaration:
    """A declaration holding every kind of value the model has."""
    cff = CffParameters(
        a=D("0.5"),
        r1=D("0.3"),
        r2=D("0.4"),
        qsin_qp=D("0.9"),
        qsout_qp=D("0.8"),
        e_recycling_eol=D("0.2"),
        ev_star=D("1.5"),
        ed=D("0.1"),
        r3=D("0.1"),
        energy_recovery=EnergyRecovery(D("0.3"), D("20"), D("0.2"), D("0.1"), D("0.05"), D("0.1")),
    )
    return FootprintDeclaration(
        id="cell-2026",
        company_ids=("urn:c:cells", "urn:c:alias"),
        product_ids=("urn:p:cell",),
        declared_unit="kilogram",
        declared_unit_amount=D("2.5"),
        own_emissions=(OwnEmission("main-production", "1", D("3.25")),),
        inputs=(
            InputLine(FootprintRef("nickel-2025"), D("0.4"), "kilogram", cff=cff),
            InputLine(
                ProductRef("urn:p:copper", "urn:c:mill"),
                D("0.1"),
                "gram",
                recycled_content=RecycledContent(D("0.2"), D("0.05")),
                stage="main-production",
                scope="2",
            ),
            InputLine(FactorRef("grid", "2026", "de"), D("12"), "kilowatt hour"),
        ),
        declared_pcf=D("9.5"),
        primary_data_share=D("40"),
        dqr=DataQuality(technological=D("1.5"), reliability=D("2")),
        created=datetime(2026, 3, 1, tzinfo=UTC),
        org_id="org-cells",
        end_of_life="cff",
    )


def test_the_model_classes_are_found() -> None:
    names = {cls.__name__ for cls in MODEL_CLASSES}
    assert {"FootprintDeclaration", "InputLine", "CffParameters", "Gap"} <= names


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
def test_each_model_class_pickles_through_the_fast_path(cls: type[SlotsPickle]) -> None:
    """Fails when ``dataclass`` (or anything else) puts another path in front."""
    assert cls.__reduce__ is SlotsPickle.__reduce__
    assert "__reduce_ex__" not in cls.__dict__


def test_a_declaration_loads_exactly_as_dumped() -> None:
    decl = everything()
    for value in (decl, *decl.inputs, decl.inputs[0].cff, decl.dqr):
        assert isinstance(value, SlotsPickle)
        assert value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)[0] is _restore
    loaded = pickle.loads(pickle.dumps(decl, protocol=pickle.HIGHEST_PROTOCOL))
    assert loaded == decl
    assert type(loaded.inputs[1].ref) is ProductRef
    assert loaded.inputs[0].cff == decl.inputs[0].cff
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.id = "other"


def test_loading_values_of_another_shape_is_refused() -> None:
    """A state of the wrong length is an error, never an object."""
    with pytest.raises(ValueError, match="zip"):
        _restore(FootprintRef, ("a", "b"))
