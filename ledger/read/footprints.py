"""Footprints as readers find them: one by id, pages of a filtered listing.

The ``footprint`` and ``footprint_product`` tables are written at append time
(``ledger.store.carbon_index``); readers get typed rows from here and never decide from a
stored entry's JSON. Who may see each row is ``ledger.read.access``'s question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from ledger.store.carbon_index import active_footprint_id
from ledger.store.index_tables import FootprintProductRow, FootprintRow

_F = FootprintRow.__table__  # type: ignore[attr-defined]
_FP = FootprintProductRow.__table__  # type: ignore[attr-defined]

__all__ = [
    "FootprintListing",
    "FootprintRef",
    "active_footprint_id",
    "footprint_ref",
    "footprint_refs",
]


@dataclass(frozen=True, slots=True)
class FootprintRef:
    """A recorded footprint as the ledger indexed it."""

    footprint_id: str
    entry_id: str
    seq: int
    leaf_hash: bytes
    org_id: str
    active: bool
    deprecated_seq: int | None


# The columns of a ``FootprintRef``, in its order: ``FootprintRef(*row)``.
_COLUMNS = [
    _F.c.footprint_id,
    _F.c.entry_id,
    _F.c.seq,
    _F.c.leaf_hash,
    _F.c.org_id,
    _F.c.active,
    _F.c.deprecated_seq,
]


def footprint_ref(conn: Connection, footprint_id: str) -> FootprintRef | None:
    """The footprint with this id (active or not); None if none was recorded."""
    row = conn.execute(select(*_COLUMNS).where(_F.c.footprint_id == footprint_id)).first()
    return None if row is None else FootprintRef(*row)


def footprint_refs(conn: Connection, footprint_ids: Sequence[str]) -> list[FootprintRef]:
    """The recorded ones of ``footprint_ids`` (a page, bounded by the caller), in no
    particular order."""
    query = select(*_COLUMNS).where(_F.c.footprint_id.in_(list(footprint_ids)))
    return [FootprintRef(*row) for row in conn.execute(query)]


class FootprintListing:
    """Footprints in log order, narrowed by product ids, company ids (both compared
    case-insensitively, as PACT filters are), status and a visibility condition."""

    def __init__(
        self,
        *,
        visible: ColumnElement[bool] | None = None,
        product_ids: Sequence[str] = (),
        company_ids: Sequence[str] = (),
        active: bool | None = None,
    ) -> None:
        query = select(*_COLUMNS)
        if visible is not None:
            query = query.where(visible)
        for column, values in ((_FP.c.product_id, product_ids), (_FP.c.company_id, company_ids)):
            if values:
                lowered = [v.lower() for v in values]
                named = select(_FP.c.footprint_id).where(func.lower(column).in_(lowered))
                query = query.where(_F.c.footprint_id.in_(named))
        if active is not None:
            query = query.where(_F.c.active.is_(active))
        self._query = query

    def page(self, conn: Connection, *, after_seq: int, limit: int) -> list[FootprintRef]:
        """Up to ``limit`` footprints with seq > ``after_seq``, in seq order."""
        rows = conn.execute(
            self._query.where(_F.c.seq > after_seq).order_by(_F.c.seq).limit(limit)
        ).all()
        return [FootprintRef(*row) for row in rows]
