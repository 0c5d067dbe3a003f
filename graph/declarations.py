"""The active declarations by id, kept packed until something reads them.

As objects, a declaration is ≈40 Python objects and ≈2.6 kB; loading them all was ≈90 % of
an engine snapshot's load (27 s at 10⁶ footprints), although a running gateway reads only
the declarations its updates and answers reach. So a :class:`Declarations` pickles as one
packed ``bytes`` per declaration (its pickle, deflated against a typical declaration's:
≈0.2 kB), and holds each one that way until it is first read: a lookup unpacks it
(≈25 µs) and keeps the object from then on.

The gateway's active set and its engine's registry hold the same declarations. Pickled
within one :class:`Packing` (``gateway.engine_snapshot``), each is packed once and stored
once, the loaded mappings share the bytes, and :meth:`Packing.compact` then lets the
mappings just saved hold the bytes instead of the objects: a gateway that built its
engine from the log drops to the memory of one restarted from the snapshot, and its next
save packs only what changed.

Trust: packed bytes are pickles. They are only ever made here or loaded from a snapshot
whose tag was verified before anything in it was unpickled, so unpacking later is no
different from unpacking them at load time.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal

from graph.model import (
    DataQuality,
    FactorRef,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
    ProductRef,
)


def _typical() -> FootprintDeclaration:
    """What most declarations look like, as the deflate dictionary: class and module
    names, stages, scopes and units then cost a back-reference each."""
    own = (OwnEmission("main-production", "1", Decimal("1.5")),)
    grid = FactorRef("urn:factors:grid", "2026", "electricity")
    inputs = (
        InputLine(FootprintRef("urn:pact:footprint:00000000"), Decimal("0.25"), "kilogram"),
        InputLine(ProductRef("urn:pact:product:cell", "urn:pact:company:s"), Decimal(2), "gram"),
        InputLine(grid, Decimal("3.6"), "kilowatt hour", stage="main-production", scope="2"),
        InputLine(FootprintRef("urn:pact:footprint:1"), Decimal(1), "megajoule"),
    )
    return FootprintDeclaration(
        id="urn:pact:footprint:00000000-0000-0000-0000-000000000000",
        company_ids=("urn:pact:company:00000000",),
        product_ids=("urn:pact:product:00000000",),
        declared_unit="kilogram",
        own_emissions=own,
        inputs=inputs,
        declared_pcf=Decimal("12.5"),
        primary_data_share=Decimal(50),
        dqr=DataQuality(Decimal("1.5"), Decimal(2), Decimal(1)),
        created=datetime(2026, 1, 1, tzinfo=UTC),
        org_id="org",
    )


_DICTIONARY = pickle.dumps(_typical(), protocol=pickle.HIGHEST_PROTOCOL)
#: raw deflate (no zlib header or checksum: the snapshot's tag covers the bytes)
_WBITS = -15


def pack(declaration: FootprintDeclaration) -> bytes:
    """``declaration`` as packed bytes (:func:`unpack` reverses it)."""
    deflate = zlib.compressobj(1, zlib.DEFLATED, _WBITS, zdict=_DICTIONARY)
    body = pickle.dumps(declaration, protocol=pickle.HIGHEST_PROTOCOL)
    return deflate.compress(body) + deflate.flush()


def unpack(packed: bytes) -> FootprintDeclaration:
    """The declaration :func:`pack` made ``packed`` of (see the module doc on trust)."""
    inflate = zlib.decompressobj(_WBITS, zdict=_DICTIONARY)
    body = inflate.decompress(packed) + inflate.flush()
    declaration: FootprintDeclaration = pickle.loads(body)  # noqa: S301 (see module doc)
    return declaration


#: a mapping's content: each declaration as an object or packed (all packed when pickled)
_Content = dict[str, FootprintDeclaration | bytes]


class Packing:
    """One pickling of several :class:`Declarations` (see the module doc)."""

    def __init__(self) -> None:
        #: ``id(declaration)`` → (it, its bytes); holding it keeps its ``id`` unique
        self._packed: dict[int, tuple[FootprintDeclaration, bytes]] = {}
        #: each mapping pickled, with its content as pickled and its change count then
        self._pickled: list[tuple[Declarations, _Content, int]] = []

    def pack(self, declaration: FootprintDeclaration) -> bytes:
        found = self._packed.get(id(declaration))
        if found is None:
            found = self._packed[id(declaration)] = (declaration, pack(declaration))
        return found[1]

    def pickled(self, mapping: Declarations, content: _Content) -> None:
        self._pickled.append((mapping, content, mapping._changes))

    def compact(self) -> None:
        """Let each mapping pickled within hold its declarations as the bytes pickled,
        unless it changed since."""
        for mapping, content, changes in self._pickled:
            if mapping._changes == changes:
                mapping._items = content


_PACKING: ContextVar[Packing | None] = ContextVar("carbonledger_packing", default=None)


@contextmanager
def packing() -> Iterator[Packing]:
    """Pickle every :class:`Declarations` within as one :class:`Packing`."""
    current = Packing()
    token = _PACKING.set(current)
    try:
        yield current
    finally:
        _PACKING.reset(token)


class Declarations(MutableMapping[str, FootprintDeclaration]):
    """``footprint id → FootprintDeclaration``, in insertion order, some possibly packed.

    ``__getitem__``, ``get`` and ``in`` are written out rather than inherited: the engine's
    build resolves millions of citations through them."""

    __slots__ = ("_changes", "_items")

    def __init__(self) -> None:
        self._items: _Content = {}
        #: additions, replacements and removals so far (not unpacking, which changes
        #: nothing a reader sees): :meth:`Packing.compact` compacts only what it pickled
        self._changes = 0

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
        declaration = unpack(packed)
        self._items[footprint_id] = declaration
        return declaration

    def __contains__(self, footprint_id: object) -> bool:
        return footprint_id in self._items

    def __setitem__(self, footprint_id: str, declaration: FootprintDeclaration) -> None:
        self._items[footprint_id] = declaration
        self._changes += 1

    def __delitem__(self, footprint_id: str) -> None:
        del self._items[footprint_id]
        self._changes += 1

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def packed(self) -> list[str]:
        """The ids whose declarations are packed (not read since they were packed)."""
        return [fid for fid, found in self._items.items() if found.__class__ is bytes]

    def __reduce__(self) -> tuple[object, tuple[_Content]]:
        current = _PACKING.get()
        pack_one = pack if current is None else current.pack
        content: _Content = {
            fid: found if isinstance(found, bytes) else pack_one(found)
            for fid, found in self._items.items()
        }
        if current is not None:
            current.pickled(self, content)
        return (_loaded, (content,))


def _loaded(content: _Content) -> Declarations:
    """The load side of :meth:`Declarations.__reduce__`: everything stays packed."""
    declarations = Declarations()
    declarations._items = content
    return declarations
