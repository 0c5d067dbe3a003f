"""A full audit's carbon facts, kept in memory and written to the state in bulk.

A full audit replays facts fastest in memory (:class:`MemoryCarbonView`), but
the state must hold them in the sequencer's index tables, so that later
incremental audits read them through ``SqlCarbonView`` one row at a time.
Issuing the sequencer's per-fact statements for 10⁵ facts would cost more
than the audit itself, so this view logs each update and :func:`dump_facts`
writes the rows ``SqlCarbonView``'s updates would have written, one
``executemany`` per table. ``tests/test_audit_engine.py`` checks the tables
come out equal to those ``SqlCarbonView`` writes itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert

from ledger.rules import FactorFacts, FootprintFacts, GrantFacts, MemoryCarbonView, SerialSpan
from ledger.store import index_tables as t

Row = dict[str, Any]


class RecordingCarbonView(MemoryCarbonView):
    """:class:`MemoryCarbonView` that also builds the index-table rows of every update."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: defaultdict[str, list[Row]] = defaultdict(list)
        self._footprint_rows: dict[str, Row] = {}
        self._product_rows: defaultdict[str, list[Row]] = defaultdict(list)
        self._grant_rows: dict[str, Row] = {}

    def add_footprint(self, facts: FootprintFacts) -> None:
        super().add_footprint(facts)
        row = {
            "footprint_id": facts.footprint_id,
            "entry_id": facts.entry_id,
            "seq": facts.seq,
            "leaf_hash": facts.leaf_hash,
            "org_id": facts.org_id,
            "batch_id": facts.batch_id,
            "declared_unit": facts.declared_unit,
            "active": True,
            "deprecated_seq": None,
        }
        self._footprint_rows[facts.footprint_id] = row
        self.rows["footprint"].append(row)
        for product in facts.product_ids:
            for company in facts.company_ids:
                link = {
                    "footprint_id": facts.footprint_id,
                    "product_id": product,
                    "company_id": company,
                    "batch_key": facts.batch_id or "",
                    "org_id": facts.org_id,
                    "active": True,
                }
                self._product_rows[facts.footprint_id].append(link)
                self.rows["footprint_product"].append(link)

    def deprecate_footprint(self, footprint_id: str, seq: int) -> None:
        super().deprecate_footprint(footprint_id, seq)
        self._footprint_rows[footprint_id].update(active=False, deprecated_seq=seq)
        for link in self._product_rows[footprint_id]:
            link["active"] = False

    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None:
        super().add_factor_set(set_id, version, seq, factors)
        self.rows["factor_set"].append({"set_id": set_id, "version": version, "seq": seq})
        self.rows["factor"].extend(
            {"set_id": set_id, "version": version, "key": f.key, "unit": f.unit, "value": f.value}
            for f in factors
        )

    def add_retirement(self, span: SerialSpan, seq: int, org_id: str) -> None:
        super().add_retirement(span, seq, org_id)
        self.rows["retirement"].append(
            {
                "seq": seq,
                "registry": span.registry,
                "prefix": span.prefix,
                "width": span.width,
                "first": span.first,
                "last": span.last,
                "org_id": org_id,
            }
        )

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None:
        super().add_attestation(entry_id, footprint_id, seq, org_id)
        self.rows["attestation"].append(
            {"entry_id": entry_id, "footprint_id": footprint_id, "seq": seq, "org_id": org_id}
        )

    def add_grant(self, facts: GrantFacts) -> None:
        super().add_grant(facts)
        row = {
            "entry_id": facts.entry_id,
            "seq": facts.seq,
            "grantor": facts.grantor,
            "grantee": facts.grantee,
            "footprint_id": facts.footprint_id,
            "product_id": facts.product_id,
            "level": facts.level,
            "valid_from_us": facts.valid_from_us,
            "valid_until_us": facts.valid_until_us,
            "revoked_seq": None,
            "inventory": facts.inventory,
        }
        self._grant_rows[facts.entry_id] = row
        self.rows["access_grant"].append(row)

    def revoke_grant(self, entry_id: str, seq: int) -> None:
        super().revoke_grant(entry_id, seq)
        self._grant_rows[entry_id]["revoked_seq"] = seq

    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None:
        super().add_activity_batch(entry_id, org_id, seq)
        self.rows["activity_batch"].append({"entry_id": entry_id, "org_id": org_id, "seq": seq})

    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None:
        super().add_target(entry_id, seq, buyer, supplier)
        self.rows["target"].append(
            {"entry_id": entry_id, "seq": seq, "buyer": buyer, "supplier": supplier}
        )


_TABLES = {
    str(cls.__tablename__): cls.__table__  # type: ignore[union-attr]
    for cls in (
        t.FootprintRow,
        t.FootprintProductRow,
        t.FactorSetRow,
        t.FactorRow,
        t.RetirementRow,
        t.AttestationRow,
        t.GrantRow,
        t.ActivityBatchRow,
        t.TargetRow,
    )
}


def dump_facts(view: RecordingCarbonView, conn: Connection) -> None:
    """Insert every row the view built, one ``executemany`` per table."""
    for name, table in _TABLES.items():
        rows = view.rows.get(name)
        if rows:
            conn.execute(insert(table), rows)
