"""Who may read a recorded entry's contents.

Operators and auditors read everything; an org reads its own entries; a
buyer reads a footprint entry (which includes the composition) only through a
live ``detail`` grant from its owner, for that footprint or its product line.
Summary-level grantees see the PACT view through the gateway, not the entry.
"""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from ledger.store.index_tables import FootprintProductRow, FootprintRow, GrantRow
from ledger.store.log import StoredRecord

_F = FootprintRow.__table__  # type: ignore[attr-defined]
_FP = FootprintProductRow.__table__  # type: ignore[attr-defined]
_GR = GrantRow.__table__  # type: ignore[attr-defined]

READ_ALL_ROLES = frozenset({"operator", "auditor"})
# gRPC metadata by which a reader (the auditor) says it needs every entry: the
# ledger then refuses a caller without a read-all role with PERMISSION_DENIED
# instead of streaming the entries it may see, which an audit would take for
# records the ledger withheld.
WHOLE_LOG_METADATA = ("carbonledger-read", "whole-log")


def may_read(conn: Connection, caller: str, roles: frozenset[str], record: StoredRecord) -> bool:
    if roles & READ_ALL_ROLES or record.org_id == caller:
        return True
    if record.entry_type != "footprint":
        return False
    footprint_id = conn.execute(
        select(_F.c.footprint_id).where(_F.c.entry_id == record.entry_id)
    ).scalar()
    if footprint_id is None:
        return False
    products = select(_FP.c.product_id).where(_FP.c.footprint_id == footprint_id)
    grant = conn.execute(
        select(_GR.c.entry_id)
        .where(
            _GR.c.grantee == caller,
            _GR.c.grantor == record.org_id,
            _GR.c.level == "detail",
            _GR.c.revoked_seq.is_(None),
            or_(_GR.c.footprint_id == footprint_id, _GR.c.product_id.in_(products)),
        )
        .limit(1)
    ).first()
    return grant is not None
