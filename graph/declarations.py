"""The active declarations by id, kept packed after a restore until something reads them.

A restarted gateway loads its engine from a snapshot (``gateway.engine_snapshot``). As
objects, a declaration is ≈40 Python objects; loading them all was ≈90 % of the snapshot's
load and ≈2.6 kB of memory per footprint (27 s and several GB at 10⁶ footprints), although
a running gateway reads only the declarations its updates and answers reach. So a
:class:`Declarations` pickles as one ``bytes`` per declaration and, once loaded, keeps each
one as those bytes until it is first read: a lookup unpacks it (≈20 µs) and keeps the
object from then on. Iterating over all values unpacks them all.

The gateway's active set and its engine's registry hold the same declarations: pickled
together within :func:`shared_packing`, each is packed once and stored once, and the two
loaded mappings share the bytes.

Trust: the packed bytes are pickles. They are only ever made here or read from a snapshot
whose tag was verified before anything in it was unpickled, so unpacking later is no
different from unpacking them at load time.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar

from graph.model import FootprintDeclaration

#: while pickling within :func:`shared_packing`: ``id(declaration)`` → (it, its bytes)
_SHARED: ContextVar[dict[int, tuple[FootprintDeclaration, bytes]] | None] = ContextVar(
    "carbonledger_shared_packing", default=None
)


@contextmanager
def shared_packing() -> Iterator[None]:
    """Pickle every :class:`Declarations` within as one: a declaration object held by
    several of them is packed once (the memo holds it, so its ``id`` stays unique)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _pack(declaration: FootprintDeclaration) -> bytes:
    shared = _SHARED.get()
    if shared is None:
        return pickle.dumps(declaration, protocol=pickle.HIGHEST_PROTOCOL)
    found = shared.get(id(declaration))
    if found is None:
        found = shared[id(declaration)] = (
            declaration,
            pickle.dumps(declaration, protocol=pickle.HIGHEST_PROTOCOL),
        )
    return found[1]


class Declarations(MutableMapping[str, FootprintDeclaration]):
    """``footprint id → FootprintDeclaration``, in insertion order, some possibly packed.

    ``__getitem__``, ``get`` and ``in`` are written out rather than inherited: the engine's
    build resolves millions of citations through them."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, FootprintDeclaration | bytes] = {}

    def __getitem__(self, footprint_id: str) -> FootprintDeclaration:
        found = self._items[footprint_id]
        if found.__class__ is bytes:
            return self._unpack(footprint_id, found)
        return found  # type: ignore[return-value]

    def get(  # type: ignore[override]
        self, footprint_id: str, default: FootprintDeclaration | None = None
    ) -> FootprintDeclaration | None:
        found = self._items.get(footprint_id, default)
        if found.__class__ is bytes:
            return self._unpack(footprint_id, found)
        return found  # type: ignore[return-value]

    def _unpack(self, footprint_id: str, packed: object) -> FootprintDeclaration:
        assert isinstance(packed, bytes)
        declaration: FootprintDeclaration = pickle.loads(packed)  # noqa: S301 (see module doc)
        self._items[footprint_id] = declaration
        return declaration

    def __contains__(self, footprint_id: object) -> bool:
        return footprint_id in self._items

    def __setitem__(self, footprint_id: str, declaration: FootprintDeclaration) -> None:
        self._items[footprint_id] = declaration

    def __delitem__(self, footprint_id: str) -> None:
        del self._items[footprint_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def packed(self) -> list[str]:
        """The ids whose declarations are still packed (not read since the load)."""
        return [fid for fid, found in self._items.items() if found.__class__ is bytes]

    def __reduce__(self) -> tuple[object, tuple[dict[str, bytes]]]:
        packed = {
            fid: found if isinstance(found, bytes) else _pack(found)
            for fid, found in self._items.items()
        }
        return (_loaded, (packed,))


def _loaded(packed: dict[str, bytes]) -> Declarations:
    """The load side of :meth:`Declarations.__reduce__`: everything stays packed."""
    declarations = Declarations()
    declarations._items.update(packed)
    return declarations
