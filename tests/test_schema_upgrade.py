"""A database created by an earlier release gains the indexes added since when a process
opens it (additive upgrades need no migration step; see docs/operations.md)."""

from __future__ import annotations

from sqlalchemy import text

from ledger.store.database import Database


def _indexes(db: Database) -> set[str]:
    """Every index name (also expression indexes, which reflection skips on SQLite)."""
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if db.is_sqlite
        else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )
    with db.write_engine.connect() as conn:
        return set(conn.execute(text(query)).scalars())


def test_opening_a_database_creates_indexes_it_lacks(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert "ix_footprint_org_seq" in _indexes(db)
        with db.write_engine.begin() as conn:  # as an earlier release left it
            conn.execute(text("DROP INDEX ix_footprint_org_seq"))
            conn.execute(text("DROP INDEX ix_footprint_product_product_ci"))
        assert "ix_footprint_org_seq" not in _indexes(db)
    finally:
        db.dispose()
    reopened = Database(db_url)
    try:
        assert "ix_footprint_org_seq" in _indexes(reopened)
        assert "ix_footprint_product_product_ci" in _indexes(reopened)
    finally:
        reopened.dispose()
