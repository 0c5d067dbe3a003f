"""Fast pickling for frozen, slotted dataclasses held by the footprint engine's snapshot
(``gateway.engine_snapshot``): the engine's model (``graph``) and the grants its sharing
rules keep (``ledger.rules.view.GrantFacts``).

``@dataclass(frozen=True, slots=True)`` gives each class its own ``__getstate__`` and
``__setstate__``, which look the dataclass fields up again for every object they load:
loading the declarations of 10⁵ footprints took 3.0 s, two thirds of it in those lookups.
The dataclass decorator replaces those two methods even when a base class defines them,
so this mixin overrides ``__reduce__`` instead, which it leaves alone: an object pickles
as its class and its values in slot order, and loads by setting them back through the
slots' own descriptors, without the lookup and without ``__post_init__`` (the values were
checked when the object was first made). The same load took 1.7 s.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

_SETTERS: dict[type, tuple[Callable[[object, object], None], ...]] = {}
_GETTERS: dict[type, Callable[[object], tuple[object, ...]]] = {}


class SlotsPickle:
    """Mixin for ``@dataclass(frozen=True, slots=True)`` classes."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        values = _GETTERS.get(cls)
        if values is None:
            values = _GETTERS[cls] = _values_getter(cls)
        return (_restore, (cls, values(self)))


def _restore(cls: type[SlotsPickle], values: tuple[object, ...]) -> SlotsPickle:
    """An instance of ``cls`` holding ``values`` in slot order (the load side of
    :meth:`SlotsPickle.__reduce__`)."""
    setters = _SETTERS.get(cls)
    if setters is None:
        setters = _SETTERS[cls] = tuple(cls.__dict__[name].__set__ for name in _slots(cls))
    obj = object.__new__(cls)
    for setter, value in zip(setters, values, strict=True):
        setter(obj, value)
    return obj


def _values_getter(cls: type[SlotsPickle]) -> Callable[[object], tuple[object, ...]]:
    """A function of an instance returning its values in slot order, always as a tuple (one
    ``attrgetter`` call in C; with one name, ``attrgetter`` returns the bare value)."""
    names = _slots(cls)
    if len(names) == 1:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return attrgetter(*names)


def _slots(cls: type[SlotsPickle]) -> tuple[str, ...]:
    """The dataclass's own slots, in field order (the mixin's are empty)."""
    slots: tuple[str, ...] = cls.__dict__["__slots__"]
    return slots
