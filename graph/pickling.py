"""Fast pickling for the engine's frozen, slotted dataclasses (engine snapshots).

Python's own state functions for such classes look the dataclass fields up again for
every object they load: that lookup was 2.9 of the 6.0 s it took to load the engine
snapshot of a 10⁵-footprint log (``gateway.engine_snapshot``). These keep the state as a
plain tuple in slot order and set it back without the lookup or ``__post_init__``: the
values were checked when the object was first made.
"""

from __future__ import annotations


class SlotsPickle:
    """Mixin for ``@dataclass(frozen=True, slots=True)`` classes."""

    __slots__ = ()

    def __getstate__(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _slots(self))

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(_slots(self), state, strict=True):
            object.__setattr__(self, name, value)


def _slots(obj: SlotsPickle) -> tuple[str, ...]:
    """The dataclass's own slots, in field order (the mixin's are empty)."""
    slots: tuple[str, ...] = type(obj).__dict__["__slots__"]
    return slots
