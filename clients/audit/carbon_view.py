"""The auditor's carbon view: ``MemoryCarbonView`` with an indexed serial-overlap check.

The shared in-memory view scans every earlier retirement of a registry for
each new one, which is quadratic over a whole log (10⁵ retirements would be
5·10⁹ comparisons). Retirements the auditor applies never overlap (an
overlapping one fails the rule and is not applied), so per (registry,
prefix, width) they are disjoint intervals: kept sorted by their first
serial, the only candidate for an overlap is the one with the greatest first
serial not after the new range's last (and the run of ranges before it that
also reach the new range, when it spans several: the scan names the earliest
seq, and so does this). Serials of one width compare as
strings in numeric order. The answer is the same as the scan's; only the
cost differs. Used when an audit keeps no state; with ``--state`` the
facts live in SQLite (:class:`AuditSqlCarbonView`).
"""

from __future__ import annotations

from bisect import bisect_right, insort

from sqlalchemy import Connection, select

from ledger.rules import MemoryCarbonView, SerialSpan
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.index_tables import RetirementRow

_RT = RetirementRow.__table__  # type: ignore[attr-defined]

_Key = tuple[str, str, int]


class AuditCarbonView(MemoryCarbonView):
    def __init__(self) -> None:
        super().__init__()
        self._sorted: dict[_Key, list[tuple[str, str, int]]] = {}

    def overlapping_retirement(self, span: SerialSpan) -> int | None:
        spans = self._sorted.get((span.registry, span.prefix, span.width))
        if not spans:
            return None
        i = bisect_right(spans, (span.last, "\U0010ffff", 2**63)) - 1
        # The overlapping ranges are the run ending at i; the scan names the earliest.
        found: int | None = None
        while i >= 0 and spans[i][1] >= span.first:
            found = spans[i][2] if found is None else min(found, spans[i][2])
            i -= 1
        return found

    def add_retirement(self, span: SerialSpan, seq: int, org_id: str) -> None:
        super().add_retirement(span, seq, org_id)
        key = (span.registry, span.prefix, span.width)
        insort(self._sorted.setdefault(key, []), (span.first, span.last, seq))


class AuditSqlCarbonView(SqlCarbonView):
    """The sequencer's own SQL carbon view, over the audit state database.

    Used when the audit keeps state, so an incremental audit reads and writes
    only the facts its new entries touch. The serial-overlap query is replaced
    by one that walks the (registry, prefix, width, first) index down from the
    new range's last serial and stops at the first range that ends before it:
    O(log n + overlaps) instead of scanning every earlier range of the registry.
    """

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._conn_ = conn

    def overlapping_retirement(self, span: SerialSpan) -> int | None:
        rows = self._conn_.execute(
            select(_RT.c.seq, _RT.c.last)
            .where(
                _RT.c.registry == span.registry,
                _RT.c.prefix == span.prefix,
                _RT.c.width == span.width,
                _RT.c.first <= span.last,
            )
            .order_by(_RT.c.first.desc())
        )
        found: int | None = None
        for seq, last in rows:
            if last < span.first:
                break
            found = int(seq) if found is None else min(found, int(seq))
        rows.close()
        return found
