"""The entries that stand behind a footprint or an organisation, by sequence number.

Attestations and retirements of a footprint, a supplier's inventories and the targets
set for it: the derived tables written at append time name the records, so a reader
fetches just those (through ``ledger.read.verified``) instead of scanning the log.
Each query takes ``below``, the log size the reader's snapshot was taken at, so what it
serves never mixes two moments of the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.store.index_tables import (
    AttestationRow,
    RetirementBeneficiaryRow,
    RetirementRow,
    TargetRow,
)
from ledger.store.tables import RecordRow

_AT = AttestationRow.__table__  # type: ignore[attr-defined]
_RB = RetirementBeneficiaryRow.__table__  # type: ignore[attr-defined]
_RT = RetirementRow.__table__  # type: ignore[attr-defined]
_TG = TargetRow.__table__  # type: ignore[attr-defined]
_R = RecordRow.__table__  # type: ignore[attr-defined]


def attestation_seqs(conn: Connection, footprint_id: str, below: int) -> list[int]:
    """Seqs of the attestations of ``footprint_id`` recorded before ``below``."""
    query = select(_AT.c.seq).where(_AT.c.footprint_id == footprint_id, _AT.c.seq < below)
    return list(conn.execute(query.order_by(_AT.c.seq)).scalars())


def retirement_seqs(conn: Connection, footprint_id: str, below: int) -> list[int]:
    """Seqs of the retirements naming ``footprint_id`` as beneficiary, before ``below``."""
    query = select(_RB.c.seq).where(_RB.c.footprint_id == footprint_id, _RB.c.seq < below)
    return list(conn.execute(query.order_by(_RB.c.seq)).scalars())


def evidence_added(conn: Connection, start: int, stop: int) -> set[str]:
    """Footprints that gained an attestation or a retirement in seqs [start, stop)."""
    attested = select(_AT.c.footprint_id).where(_AT.c.seq >= start, _AT.c.seq < stop)
    retired = select(_RB.c.footprint_id).where(_RB.c.seq >= start, _RB.c.seq < stop)
    return set(conn.execute(attested).scalars()) | set(conn.execute(retired).scalars())


def target_seqs(conn: Connection, supplier: str, buyer: str | None) -> list[int]:
    """Seqs of the targets set for ``supplier`` (by ``buyer`` only, when given)."""
    query = select(_TG.c.seq).where(_TG.c.supplier == supplier)
    if buyer is not None:
        query = query.where(_TG.c.buyer == buyer)
    return list(conn.execute(query.order_by(_TG.c.seq)).scalars())


def inventory_seqs(conn: Connection, org: str) -> list[int]:
    """Seqs of ``org``'s yearly inventories, in log order (a later one for a year wins)."""
    query = select(_R.c.seq).where(_R.c.entry_type == "inventory", _R.c.org_id == org)
    return list(conn.execute(query.order_by(_R.c.seq)).scalars())


@dataclass(frozen=True, slots=True)
class RetiredSpan:
    """A retirement's serial block (zero-padded serials of one width)."""

    seq: int
    org_id: str
    first: str
    last: str


def retirement_covering(
    conn: Connection, registry: str, prefix: str, width: int, digits: str
) -> RetiredSpan | None:
    """The retirement whose serial block holds serial ``prefix`` + ``digits``, if any."""
    row = conn.execute(
        select(_RT.c.seq, _RT.c.org_id, _RT.c.first, _RT.c.last)
        .where(
            _RT.c.registry == registry,
            _RT.c.prefix == prefix,
            _RT.c.width == width,
            _RT.c.first <= digits,
            _RT.c.last >= digits,
        )
        .limit(1)
    ).first()
    return None if row is None else RetiredSpan(*row)
