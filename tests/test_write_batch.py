"""Held-back index writes (``WriteBatch``) end in exactly the rows that executing each
write at once gives, on both backends, including the orders that matter: a footprint
restated (its product links deprecated, then the new ones inserted under the partial
unique index of active links) and a grant revoked after it was added."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from ledger.rules.view import FootprintFacts, GrantFacts, SerialSpan
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.database import Database
from ledger.store.derived import derived_tables
from ledger.store.write_batch import WriteBatch

ORG = "urn:pact:company:customcode:writer"
PRODUCT = "urn:pact:product:writer:p0"


def _footprint(n: int) -> FootprintFacts:
    return FootprintFacts(
        footprint_id=f"00000000-0000-4000-8000-{n:012d}",
        entry_id=f"10000000-0000-4000-8000-{n:012d}",
        seq=n,
        leaf_hash=bytes([n]) * 32,
        org_id=ORG,
        product_ids=(PRODUCT,),
        company_ids=(ORG,),
        batch_id="b1",
        declared_unit="kilogram",
    )


def _history(view: SqlCarbonView) -> None:
    """Three versions of one product's footprint, each deprecating the one before,
    with retirements and a grant revoked in between."""
    view.add_footprint(_footprint(1))
    for n in (2, 3):
        view.deprecate_footprint(_footprint(n - 1).footprint_id, 10 * n)
        view.add_footprint(_footprint(n))
        span = SerialSpan("cn-gec", "GEC-", 6, f"{n:06d}", f"{n:06d}")
        view.add_retirement(span, 10 * n + 1, ORG, (_footprint(n).footprint_id,))
    grant = GrantFacts(
        "20000000-0000-4000-8000-000000000001",
        40,
        ORG,
        "urn:pact:company:customcode:buyer",
        None,
        PRODUCT,
        "summary",
        None,
        None,
    )
    view.add_grant(grant)
    view.revoke_grant(grant.entry_id, 41)


def _rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: sorted(conn.execute(select(t)).all()) for t in derived_tables()}


def _written(db_url: str, write: Callable[[Connection], None]) -> dict[str, list[tuple[Any, ...]]]:
    db = Database(db_url)
    try:
        with db.write() as conn:
            for table in derived_tables():  # the same store serves both ways of writing
                conn.execute(table.delete())
            write(conn)
            return _rows(conn)
    finally:
        db.dispose()


def test_held_writes_end_in_the_rows_of_immediate_ones(db_url: str) -> None:
    def at_once(conn: Connection) -> None:
        _history(SqlCarbonView(conn))

    def held(conn: Connection) -> None:
        batch = WriteBatch(conn)
        _history(SqlCarbonView(conn, batch))
        assert batch.rows > 0 and not any(_rows(conn).values()), "nothing runs before flush"
        batch.flush()

    expected = _written(db_url, at_once)
    assert len(expected["footprint"]) == 3 and len(expected["retirement_beneficiary"]) == 2
    assert _written(db_url, held) == expected


def test_a_full_batch_flushes_itself(db_url: str) -> None:
    def small(conn: Connection) -> None:
        batch = WriteBatch(conn, limit=3)
        view = SqlCarbonView(conn, batch)
        view.add_footprint(_footprint(1))  # a footprint row and one product link
        assert batch.rows == 2 and not any(_rows(conn).values())
        view.deprecate_footprint(_footprint(1).footprint_id, 2)  # the third row: all run
        written = _rows(conn)
        assert len(written["footprint"]) == 1 and len(written["footprint_product"]) == 1
        assert batch.rows == 1  # the product link's deprecation, held
        batch.flush()

    rows = _written(db_url, small)
    assert rows["footprint_product"] and not any(r.active for r in rows["footprint_product"])
