"""Who may read a supplier's yearly inventories and its progress against targets.

The supplier itself, and orgs with a read-all role (operator, auditor), always;
any other org only while it holds a live inventory grant from the supplier
(``grant`` with ``inventory: true``: not revoked, inside its signed window). A
buyer's ``target`` naming the supplier opens nothing: it is the buyer's own
statement, not the supplier's consent.

The decision (``may_read_inventories``) is a pure function of the grants, so it
reads the same wherever it is applied; ``inventory_grants`` is the one indexed
lookup that feeds it (``ix_access_grant_pair``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from ledger.rules.view import GrantFacts
from ledger.store.index_tables import GrantRow
from ledger.store.visibility import READ_ALL_ROLES

_GR = GrantRow.__table__  # type: ignore[attr-defined]


def may_read_inventories(
    reader: str,
    roles: frozenset[str],
    supplier: str,
    grants: Iterable[GrantFacts],
    at_us: int,
) -> bool:
    """Whether ``reader`` may see ``supplier``'s inventories at ``at_us`` (UTC
    microseconds), given the grants ``supplier`` made to ``reader``."""
    if reader == supplier or roles & READ_ALL_ROLES:
        return True
    return any(
        g.inventory and g.grantor == supplier and g.grantee == reader and g.live_at(at_us)
        for g in grants
    )


def inventory_grants(conn: Connection, supplier: str, reader: str) -> list[GrantFacts]:
    """The inventory grants ``supplier`` made to ``reader``, revoked or not."""
    rows = conn.execute(
        select(
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
        ).where(_GR.c.grantor == supplier, _GR.c.grantee == reader, _GR.c.inventory)
    ).all()
    return [GrantFacts(**row._mapping, inventory=True) for row in rows]
