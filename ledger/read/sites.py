"""The sites an org enrolled and the years they report, from the site rows.

Unsigned derived rows (``ledger.store.index_tables.SiteRow``, ``SiteInputRow``): a
reader serves a site only after checking its ``site.enroll`` record, and evaluates a
year through ``ledger.zero_carbon`` with every record checked against the row naming it
(``gateway.site_reads``). Each query here probes an index; none reads the log.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ledger.store.index_tables import SiteInputRow, SiteRow

_ST = SiteRow.__table__  # type: ignore[attr-defined]
_SI = SiteInputRow.__table__  # type: ignore[attr-defined]


def sites_of(conn: Connection, org: str, below: int) -> list[str]:
    """The sites ``org`` enrolled before seq ``below``, in enrolment order (one probe of
    ``site``'s org index)."""
    query = select(_ST.c.site).where(_ST.c.org_id == org, _ST.c.seq < below)
    return list(conn.execute(query.order_by(_ST.c.seq)).scalars())


def latest_inventory_year(conn: Connection, sites: list[str], below: int) -> int | None:
    """The latest year for which one of ``sites`` recorded an inventory before ``below``
    (probes of ``site_input``'s primary key, one per site), or None."""
    if not sites:
        return None
    query = select(func.max(_SI.c.year)).where(
        _SI.c.site.in_(sites), _SI.c.kind == "inventory", _SI.c.seq < below
    )
    year: int | None = conn.execute(query).scalar()
    return year
