"""Reads share log-size queries, and each still sees what was committed before it began."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from gateway.log_size import LogSizeProbe


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(
        f"sqlite:///{tmp_path / 'log.sqlite3'}", connect_args={"check_same_thread": False}
    )
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE record (seq INTEGER PRIMARY KEY)"))
    yield engine
    engine.dispose()


def _append(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO record (seq) SELECT COALESCE(MAX(seq) + 1, 0) FROM record"))


class _HeldQueries:
    """``connect`` for the probe: counts queries and holds each one, after it has read the
    size, until the test releases it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.queried = threading.Semaphore(0)
        self.release = threading.Semaphore(0)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn
        self.count += 1
        self.queried.release()
        self.release.acquire()


def test_waiting_reads_share_the_next_query_and_see_earlier_commits(engine: Engine) -> None:
    held = _HeldQueries(engine)
    probe = LogSizeProbe(held.connect)

    async def scenario() -> tuple[int, list[int]]:
        first = asyncio.ensure_future(probe.current())
        await asyncio.to_thread(held.queried.acquire)  # the first query has read size 0
        _append(engine)  # committed before the next reads begin: they must see it
        later = [asyncio.ensure_future(probe.current()) for _ in range(5)]
        await asyncio.sleep(0)  # one turn of the loop: each task runs to its first await
        held.release.release()  # the first query ends; one query starts for the five
        await asyncio.to_thread(held.queried.acquire)
        held.release.release()
        return await first, list(await asyncio.gather(*later))

    try:
        first, later = asyncio.run(scenario())
    finally:
        probe.close()
    assert first == 0
    assert later == [1] * 5
    assert held.count == 2


def test_a_failed_query_fails_its_readers_and_the_next_read_asks_again(engine: Engine) -> None:
    calls = 0

    @contextmanager
    def flaky() -> Iterator[Connection]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database unreachable")
        with engine.connect() as conn:
            yield conn

    probe = LogSizeProbe(flaky)

    async def scenario() -> int:
        with pytest.raises(ConnectionError):
            await probe.current()
        _append(engine)
        return await probe.current()

    try:
        assert asyncio.run(scenario()) == 1
    finally:
        probe.close()
