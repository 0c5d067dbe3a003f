"""A ``SiteReader`` over the ledger's database: the sequencer's site rows (through its
own ``SqlCarbonView``) and records fetched by seq.

Records are read as stored. A server that serves the evaluation to callers who
verify should build its ``SiteReader`` with a ``record`` that goes through its
verified reads (``ledger.read.verified``) instead.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.store.carbon_index import SqlCarbonView
from ledger.zero_carbon.gather import SiteReader


def store_reader(conn: Connection, below: int | None = None) -> SiteReader:
    """A ``SiteReader`` over ``conn`` (seen as of log size ``below``, when given): the
    site rows and the records they name (``SqlCarbonView.site_record``)."""
    view = SqlCarbonView(conn)
    return SiteReader(view, view.site_record, below)
