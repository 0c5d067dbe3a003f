"""Shared fixtures: real stores (a SQLite file, and PostgreSQL when configured) and
real servers on loopback ports.

PostgreSQL runs when CARBONLEDGER_TEST_POSTGRES_URL is set (``.ci/run`` sets it).
If it is set and the database is unreachable, the tests FAIL saying so; without
it they are skipped with a visible reason. Each test gets its own schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ledger.store.database import sqlite_url

POSTGRES_ENV = "CARBONLEDGER_TEST_POSTGRES_URL"


def _postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    yield from _postgres_schema_url()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty store URL on each backend, shared by the tests of one module (for
    suites that run many read-only requests against one seeded host)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("store"))
        return
    yield from _postgres_schema_url()


def _postgres_schema_url() -> Iterator[str]:
    base = _postgres_base_url()
    if base is None:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.fail(
            f"{POSTGRES_ENV} is set but PostgreSQL is unreachable: {exc.orig}", pytrace=False
        )
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (for tests that only make sense there)."""
    yield from _postgres_schema_url()
