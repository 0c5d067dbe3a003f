"""The active-footprint and consent lookups probe their indexes instead of scanning.

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

from ledger.rules.memory import MemoryCarbonView
from ledger.rules.view import FootprintFacts, GrantFacts
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


def test_the_consent_lookup_probes_the_grant_pair_index(tmp_path: Path) -> None:
    """Every input citing another org's product asks for a live grant: one probe of
    ``ix_access_grant_pair``, not a scan of every grant on the ledger. The view and the
    auditor's in-memory view answer alike, windows and revocations included."""
    db = Database(f"sqlite:///{tmp_path / 'ledger.db'}")
    memory = MemoryCarbonView()
    try:
        with db.write() as conn:
            view = SqlCarbonView(conn)
            for n in range(600):
                grant = GrantFacts(
                    str(uuid.uuid4()),
                    n,
                    f"urn:pact:company:x:owner{n % 30}",
                    f"urn:pact:company:x:citer{n % 20}",
                    None,
                    f"urn:pact:product:x:{n % 7}",
                    "summary",
                    valid_from_us=1_000 if n % 2 else None,
                    valid_until_us=2_000 if n % 5 == 0 else None,
                )
                for each in (view, memory):
                    each.add_grant(grant)
                if n % 11 == 0:
                    for each in (view, memory):
                        each.revoke_grant(grant.entry_id, 600 + n)
            conn.exec_driver_sql("ANALYZE")
            probes = [
                (f"urn:pact:company:x:citer{c}", f"urn:pact:company:x:owner{o}", p, at)
                for c in range(0, 20, 3)
                for o in range(0, 30, 4)
                for p in range(7)
                for at in (500, 1_500, 2_500)
            ]
            for citer, owner, product, at in probes:
                products = (f"urn:pact:product:x:{product}",)
                sql_says = view.live_grant(citer, owner, None, products, at)
                memory_says = memory.live_grant(citer, owner, None, products, at)
                assert (sql_says is None) == (memory_says is None), (citer, owner, product, at)
                assert sql_says is None or sql_says.live_at(at)
            assert any(
                view.live_grant(c, o, None, (f"urn:pact:product:x:{p}",), at)
                for c, o, p, at in probes
            )
        statements: list[tuple[str, Any]] = []

        def capture(*args: Any) -> None:
            statements.append((args[2], args[3]))

        event.listen(db.write_engine, "before_cursor_execute", capture)
        with db.write() as conn:
            statements.clear()
            SqlCarbonView(conn).live_grant(
                "urn:pact:company:x:citer3", "urn:pact:company:x:owner3", None, ("p",), 1_500
            )
            [(sql, params)] = [s for s in statements if "access_grant" in s[0]]
            plan = " ".join(
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
        assert "USING INDEX ix_access_grant_pair" in plan, (plan, sql)
        assert plan.startswith("SEARCH"), plan
    finally:
        db.dispose()
