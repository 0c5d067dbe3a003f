"""The active-footprint lookup probes its partial unique index instead of scanning.

Every footprint recorded asks, per product and company, whether its org already has
an active footprint, and every citation of a product asks which footprint it names.
SQLite uses a partial index only when the query states the index's predicate in the
same form; ``active IS 1`` (SQLAlchemy's ``is_(True)``) does not match ``active``, and
the lookup was a full scan of ``footprint_product``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ledger.rules.view import FootprintFacts
from ledger.store.carbon_index import SqlCarbonView, active_footprint_id
from ledger.store.database import Database

ORG = "urn:pact:company:customcode:recycler"


def test_the_active_footprint_lookup_uses_the_partial_index(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with db.write() as conn:
            view = SqlCarbonView(conn)
            for n in range(500):
                fid = str(uuid.uuid4())
                view.add_footprint(
                    FootprintFacts(
                        footprint_id=fid,
                        entry_id=str(uuid.uuid4()),
                        seq=n,
                        leaf_hash=uuid.uuid4().bytes,
                        org_id=ORG,
                        product_ids=(f"urn:pact:product:x:{n % 50}",),
                        company_ids=(ORG,),
                        batch_id=f"b{n}",
                        declared_unit="kilogram",
                    )
                )
                if n % 3:
                    view.deprecate_footprint(fid, n)
            conn.exec_driver_sql("ANALYZE")
        statements: list[tuple[str, Any]] = []

        def capture(*args: Any) -> None:
            statements.append((args[2], args[3]))

        event.listen(db.write_engine, "before_cursor_execute", capture)
        with db.write() as conn:
            statements.clear()
            found = active_footprint_id(conn, ORG, "urn:pact:product:x:3", ORG, "b453")
            assert found is not None  # 453 % 3 == 0: still active
            [(sql, params)] = [s for s in statements if "footprint_product" in s[0]]
            plan = " ".join(
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
        assert "USING INDEX ux_footprint_product_active" in plan, (plan, sql)
        assert plan.startswith("SEARCH"), plan
    finally:
        db.dispose()
