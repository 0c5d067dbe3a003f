"""The rules' carbon view over the index tables, inside the sequencer's transaction.

Updates are executed at once (not deferred), so a later entry of the same
batch sees what an earlier one changed; the batch's commit or rollback covers
them together with the records. Inserts pass their values as parameters of one
statement per table (compiled once), not ``.values(...)`` (a new statement to
build and compile per row, about eight times slower): the auditor's replay
runs this code for every fact of the log, with its writes held back in a
``WriteBatch`` (it reads from memory), so that they run as one ``executemany``
per statement.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, false, func, insert, or_, select, update

from ledger.entries import parse_entry
from ledger.rules.view import (
    FactorFacts,
    FootprintFacts,
    GenerationSpan,
    GrantFacts,
    SerialSpan,
    SiteInput,
)
from ledger.store.index_tables import (
    FOOTPRINT_PRODUCT_ACTIVE,
    ActivityBatchRow,
    AttestationRow,
    FactorRow,
    FactorSetRow,
    FootprintProductRow,
    FootprintRow,
    GrantRow,
    RetirementBeneficiaryRow,
    RetirementRow,
    SiteGenerationRow,
    SiteInputRow,
    SiteRow,
    TargetRow,
)
from ledger.store.log import record_at, seq_of_entry, seq_of_leaf
from ledger.store.write_batch import Row, Statement, WriteBatch
from ledger.zero_carbon.gather import RecordedEntry

if TYPE_CHECKING:
    from ledger.entries import Entry

_F = FootprintRow.__table__  # type: ignore[attr-defined]
_FP = FootprintProductRow.__table__  # type: ignore[attr-defined]
_FS = FactorSetRow.__table__  # type: ignore[attr-defined]
_FA = FactorRow.__table__  # type: ignore[attr-defined]
_RT = RetirementRow.__table__  # type: ignore[attr-defined]
_RB = RetirementBeneficiaryRow.__table__  # type: ignore[attr-defined]
_AT = AttestationRow.__table__  # type: ignore[attr-defined]
_GR = GrantRow.__table__  # type: ignore[attr-defined]
_AB = ActivityBatchRow.__table__  # type: ignore[attr-defined]
_TG = TargetRow.__table__  # type: ignore[attr-defined]
_ST = SiteRow.__table__  # type: ignore[attr-defined]
_SI = SiteInputRow.__table__  # type: ignore[attr-defined]
_SG = SiteGenerationRow.__table__  # type: ignore[attr-defined]

# Every write, built and compiled once (updates name their row by bind parameters).
_INSERT = {t: insert(t) for t in (_F, _FP, _FS, _FA, _RT, _RB, _AT, _GR, _AB, _TG, _ST, _SI, _SG)}
_DEPRECATE_FOOTPRINT = (
    update(_F)
    .where(_F.c.footprint_id == bindparam("b_footprint_id"))
    .values(active=False, deprecated_seq=bindparam("b_seq"))
)
_DEPRECATE_LINKS = (
    update(_FP).where(_FP.c.footprint_id == bindparam("b_footprint_id")).values(active=False)
)
_REVOKE_GRANT = (
    update(_GR)
    .where(_GR.c.entry_id == bindparam("b_entry_id"))
    .values(revoked_seq=bindparam("b_seq"))
)

# A grant row as ``GrantFacts`` (same names): ``GrantFacts(**row._mapping)``.
GRANT_COLUMNS = [
    _GR.c.entry_id,
    _GR.c.seq,
    _GR.c.grantor,
    _GR.c.grantee,
    _GR.c.footprint_id,
    _GR.c.product_id,
    _GR.c.level,
    _GR.c.valid_from_us,
    _GR.c.valid_until_us,
    _GR.c.revoked_seq,
    _GR.c.inventory,
]

_FOOTPRINT_COLUMNS = [
    _F.c.footprint_id,
    _F.c.entry_id,
    _F.c.seq,
    _F.c.leaf_hash,
    _F.c.org_id,
    _F.c.batch_id,
    _F.c.declared_unit,
    _F.c.active,
]


def active_footprint_id(
    conn: Connection, org_id: str, product_id: str, company_id: str, batch_id: str | None
) -> str | None:
    """``org_id``'s active footprint of a product for a company and batch: one probe of
    the partial unique index ``ux_footprint_product_active``."""
    fid: str | None = conn.execute(
        select(_FP.c.footprint_id).where(
            _FP.c.org_id == org_id,
            _FP.c.product_id == product_id,
            _FP.c.company_id == company_id,
            _FP.c.batch_key == (batch_id or ""),
            FOOTPRINT_PRODUCT_ACTIVE,
        )
    ).scalar()
    return fid


class SqlCarbonView:
    """``held``: queue the writes there instead of executing them (for a replay that
    reads from memory; its owner flushes them). Reads do not see held writes."""

    def __init__(self, conn: Connection, held: WriteBatch | None = None) -> None:
        self._conn = conn
        self._held = held

    def _write(self, statement: Statement, rows: list[Row]) -> None:
        if not rows:
            return
        if self._held is not None:
            self._held.add(statement, rows)
        else:
            self._conn.execute(statement, rows)

    def _footprint_where(self, condition: object) -> FootprintFacts | None:
        row = self._conn.execute(select(*_FOOTPRINT_COLUMNS).where(condition)).first()  # type: ignore[arg-type]
        if row is None:
            return None
        links = self._conn.execute(
            select(_FP.c.product_id, _FP.c.company_id).where(_FP.c.footprint_id == row.footprint_id)
        ).all()
        return FootprintFacts(
            footprint_id=row.footprint_id,
            entry_id=row.entry_id,
            seq=row.seq,
            leaf_hash=row.leaf_hash,
            org_id=row.org_id,
            product_ids=tuple(dict.fromkeys(p for p, _ in links)),
            company_ids=tuple(dict.fromkeys(c for _, c in links)),
            batch_id=row.batch_id,
            declared_unit=row.declared_unit,
            active=bool(row.active),
        )

    def footprint(self, footprint_id: str) -> FootprintFacts | None:
        return self._footprint_where(_F.c.footprint_id == footprint_id)

    def footprint_by_entry(self, entry_id: str) -> FootprintFacts | None:
        return self._footprint_where(_F.c.seq == seq_of_entry(entry_id))

    def footprint_by_leaf(self, leaf_hash: bytes) -> FootprintFacts | None:
        return self._footprint_where(_F.c.seq == seq_of_leaf(leaf_hash))

    def active_footprint(
        self, org_id: str, product_id: str, company_id: str, batch_id: str | None
    ) -> FootprintFacts | None:
        fid = active_footprint_id(self._conn, org_id, product_id, company_id, batch_id)
        return self.footprint(fid) if fid else None

    def has_declared(self, org_id: str, product_id: str) -> bool:
        found = self._conn.execute(
            select(_FP.c.footprint_id)
            .where(_FP.c.org_id == org_id, _FP.c.product_id == product_id)
            .limit(1)
        ).first()
        return found is not None

    def factor_set_seq(self, set_id: str, version: str) -> int | None:
        seq = self._conn.execute(
            select(_FS.c.seq).where(_FS.c.set_id == set_id, _FS.c.version == version)
        ).scalar()
        return None if seq is None else int(seq)

    def factor(self, set_id: str, version: str, key: str) -> FactorFacts | None:
        row = self._conn.execute(
            select(_FA.c.unit, _FA.c.value).where(
                _FA.c.set_id == set_id, _FA.c.version == version, _FA.c.key == key
            )
        ).first()
        return FactorFacts(set_id, version, key, row.unit, row.value) if row else None

    def overlapping_retirement(self, span: SerialSpan) -> int | None:
        """Recorded ranges never overlap each other, so the only candidate is the one
        starting last at or before ``span.last``: one index probe, O(log n)."""
        row = self._conn.execute(
            select(_RT.c.seq, _RT.c.last)
            .where(
                _RT.c.registry == span.registry,
                _RT.c.prefix == span.prefix,
                _RT.c.width == span.width,
                _RT.c.first <= span.last,
            )
            .order_by(_RT.c.first.desc())
            .limit(1)
        ).first()
        return int(row.seq) if row is not None and row.last >= span.first else None

    def grant(self, entry_id: str) -> GrantFacts | None:
        row = self._conn.execute(select(*GRANT_COLUMNS).where(_GR.c.entry_id == entry_id)).first()
        return GrantFacts(**row._mapping) if row else None

    def live_grant(
        self,
        grantee: str,
        grantor: str,
        footprint_id: str | None,
        product_ids: tuple[str, ...],
        at_us: int,
        *,
        detail: bool = False,
    ) -> GrantFacts | None:
        """One probe of ``ix_access_grant_pair`` (grantee, grantor); the window is the same
        test as ``GrantFacts.live_at``."""
        row = self._conn.execute(
            select(*GRANT_COLUMNS)
            .where(
                _GR.c.grantee == grantee,
                _GR.c.grantor == grantor,
                _GR.c.revoked_seq.is_(None),
                or_(
                    _GR.c.footprint_id == footprint_id if footprint_id is not None else false(),
                    _GR.c.product_id.in_(product_ids) if product_ids else false(),
                ),
                or_(_GR.c.valid_from_us.is_(None), _GR.c.valid_from_us <= at_us),
                or_(_GR.c.valid_until_us.is_(None), _GR.c.valid_until_us > at_us),
                *([_GR.c.level == "detail"] if detail else []),
            )
            .limit(1)
        ).first()
        return GrantFacts(**row._mapping) if row else None

    def activity_batch_org(self, entry_id: str) -> str | None:
        org: str | None = self._conn.execute(
            select(_AB.c.org_id).where(_AB.c.entry_id == entry_id)
        ).scalar()
        return org

    def site_owner(self, site: str) -> str | None:
        org: str | None = self._conn.execute(
            select(_ST.c.org_id).where(_ST.c.site == site)
        ).scalar()
        return org

    def site_inputs(self, site: str, years: tuple[int, ...]) -> list[SiteInput]:
        """Probes of the primary key (site, year, ...)."""
        rows = self._conn.execute(
            select(_SI.c.seq, _SI.c.year, _SI.c.kind)
            .where(_SI.c.site == site, _SI.c.year.in_(sorted(set(years))))
            .order_by(_SI.c.seq)
        )
        return [SiteInput(row.seq, row.year, row.kind) for row in rows]

    def site_record(self, seq: int) -> RecordedEntry:
        """The stored record, parsed: the sequencer flushes its batch so far before an
        entry whose rule reads records (``ledger._internal.appending``)."""
        stored = record_at(self._conn, seq)
        if stored is None:
            raise LookupError(f"no record at seq {seq}")
        return RecordedEntry(parse_entry(json.loads(stored.entry)), seq, stored.leaf_hash)

    def generation_spans_near(
        self, site: str, meter_id: str, start_us: int, end_us: int
    ) -> list[GenerationSpan]:
        """The spans from the last one starting at or before ``start_us`` to the last one
        starting before ``end_us``: a range of the primary key (site, meter_id, start_us)
        from a max() probe of it."""
        meter = (_SG.c.site == site, _SG.c.meter_id == meter_id)
        before = (
            select(func.coalesce(func.max(_SG.c.start_us), start_us))
            .where(*meter, _SG.c.start_us <= start_us)
            .scalar_subquery()
        )
        rows = self._conn.execute(
            select(_SG.c.start_us, _SG.c.end_us)
            .where(*meter, _SG.c.start_us >= before, _SG.c.start_us < end_us)
            .order_by(_SG.c.start_us)
        )
        return [GenerationSpan(meter_id, row.start_us, row.end_us) for row in rows]

    def live_inventory_grant(self, grantee: str, grantor: str, at_us: int) -> GrantFacts | None:
        """One probe of ``ix_access_grant_pair`` (grantee, grantor, inventory)."""
        row = self._conn.execute(
            select(*GRANT_COLUMNS)
            .where(
                _GR.c.grantee == grantee,
                _GR.c.grantor == grantor,
                _GR.c.inventory,
                _GR.c.revoked_seq.is_(None),
                or_(_GR.c.valid_from_us.is_(None), _GR.c.valid_from_us <= at_us),
                or_(_GR.c.valid_until_us.is_(None), _GR.c.valid_until_us > at_us),
            )
            .limit(1)
        ).first()
        return GrantFacts(**row._mapping) if row else None

    # -- updates ----------------------------------------------------------------

    def add_footprint(self, facts: FootprintFacts) -> None:
        row = {
            "footprint_id": facts.footprint_id,
            "entry_id": facts.entry_id,
            "seq": facts.seq,
            "leaf_hash": facts.leaf_hash,
            "org_id": facts.org_id,
            "batch_id": facts.batch_id,
            "declared_unit": facts.declared_unit,
            "active": True,
        }
        self._write(_INSERT[_F], [row])
        links = [
            {
                "footprint_id": facts.footprint_id,
                "product_id": product,
                "company_id": company,
                "batch_key": facts.batch_id or "",
                "org_id": facts.org_id,
                "active": True,
            }
            for product in facts.product_ids
            for company in facts.company_ids
        ]
        self._write(_INSERT[_FP], links)

    def deprecate_footprint(self, footprint_id: str, seq: int) -> None:
        self._write(_DEPRECATE_FOOTPRINT, [{"b_footprint_id": footprint_id, "b_seq": seq}])
        self._write(_DEPRECATE_LINKS, [{"b_footprint_id": footprint_id}])

    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None:
        self._write(_INSERT[_FS], [{"set_id": set_id, "version": version, "seq": seq}])
        rows = [
            {"set_id": set_id, "version": version, "key": f.key, "unit": f.unit, "value": f.value}
            for f in factors
        ]
        self._write(_INSERT[_FA], rows)

    def add_retirement(
        self, span: SerialSpan, seq: int, org_id: str, beneficiaries: tuple[str, ...] = ()
    ) -> None:
        self._write(_INSERT[_RB], [{"footprint_id": fid, "seq": seq} for fid in beneficiaries])
        row = {
            "seq": seq,
            "registry": span.registry,
            "prefix": span.prefix,
            "width": span.width,
            "first": span.first,
            "last": span.last,
            "org_id": org_id,
        }
        self._write(_INSERT[_RT], [row])

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None:
        row = {"entry_id": entry_id, "footprint_id": footprint_id, "seq": seq, "org_id": org_id}
        self._write(_INSERT[_AT], [row])

    def add_grant(self, facts: GrantFacts) -> None:
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
            "inventory": facts.inventory,
        }
        self._write(_INSERT[_GR], [row])

    def revoke_grant(self, entry_id: str, seq: int) -> None:
        self._write(_REVOKE_GRANT, [{"b_entry_id": entry_id, "b_seq": seq}])

    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None:
        self._write(_INSERT[_AB], [{"entry_id": entry_id, "org_id": org_id, "seq": seq}])

    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None:
        row = {"entry_id": entry_id, "seq": seq, "buyer": buyer, "supplier": supplier}
        self._write(_INSERT[_TG], [row])

    def add_site(self, site: str, org_id: str, seq: int) -> None:
        self._write(_INSERT[_ST], [{"site": site, "org_id": org_id, "seq": seq}])

    def add_site_input(self, site: str, facts: SiteInput) -> None:
        row = {"site": site, "year": facts.year, "kind": facts.kind, "seq": facts.seq}
        self._write(_INSERT[_SI], [row])

    def add_site_record(self, entry: Entry, seq: int, leaf_hash: bytes) -> None:
        """Nothing to keep: ``site_record`` reads the log."""

    def add_generation_spans(self, site: str, seq: int, spans: tuple[GenerationSpan, ...]) -> None:
        rows: list[Row] = [
            {
                "site": site,
                "meter_id": span.meter_id,
                "start_us": span.start_us,
                "end_us": span.end_us,
                "seq": seq,
            }
            for span in spans
        ]
        self._write(_INSERT[_SG], rows)
