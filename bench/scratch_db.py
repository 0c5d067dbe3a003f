"""A store for one benchmark run: a fresh PostgreSQL schema (dropped afterwards) when the
base URL is PostgreSQL, else the URL as given or SQLite in the run's directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text


@contextmanager
def scratch_store(base: str | None, directory: Path) -> Iterator[tuple[str, str]]:
    """Yields (store URL, store name)."""
    if not (base and base.startswith("postgresql")):
        yield base or f"sqlite:///{directory / 'ledger.sqlite3'}", "SQLite"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}", "PostgreSQL"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
