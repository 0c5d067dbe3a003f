"""Records read ahead (``FootprintAccess.access_all``, ``VerifiedLog.proven_records``): a
computed answer asks the access policy about a whole frontier of upstream footprints at
once, and their records are read and proven together, one proof per page instead of one
per record. What is read ahead is only ever what the signed tree proves: a record that
fails is left out, and fails, with its alarm, when the answer reads it as before.

Through a real ledger and gateway on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

import gateway.footprints as gateway_footprints
from ledger.errors import IntegrityError
from ledger.read import VerifiedLog
from ledger.record import Record
from tests.ledger_fixtures import SUPPLIER
from tests.test_engine_snapshot import CATHODE, _computed, _restored_from, _supply_chain
from tests.test_gateway_support import SUPPLIER_B, environment, footprint_entry, gateway
from tests.test_verified_reads import (
    assert_pact_refused,
    edit_declared_value,
    engine,
    record_footprints,
    row,
)


def _leaf_hash(eng: Engine, seq: int) -> bytes:
    stored = row(eng, seq)
    return Record(
        seq,
        stored["timestamp_us"],
        stored["prev_chain_hash"],
        stored["entry_hash"],
        stored["key_id"],
        stored["signature"],
    ).leaf_hash()


def test_an_upstream_record_edited_with_its_index_row_is_refused_when_read_ahead(
    tmp_path: Path, db_url: str
) -> None:
    """A careful insider edits the cathode's declared value, fixes the record's hashes and
    points the footprint index at the new leaf hash. A restarted gateway's engine comes
    from the snapshot and never re-reads the cathode: only the proof of the record read
    ahead for the cell's answer can catch it (an unproven read-ahead serves the cell)."""
    with environment(tmp_path, db_url) as env:
        (cell,) = _supply_chain(env, 1)
        assert _computed(env, env.url, cell).status_code == 200  # built and saved
        with engine(db_url) as eng, eng.connect() as conn:
            cathode_seq = conn.execute(
                text(
                    "SELECT f.seq FROM footprint f JOIN footprint_product p"
                    " ON p.footprint_id = f.footprint_id WHERE p.product_id LIKE '%cathode%'"
                )
            ).scalar_one()
        env.server.checkpointer.refresh()
        with engine(db_url) as eng:
            edit_declared_value(eng, cathode_seq, fix_hashes=True)
            with eng.begin() as conn:
                conn.execute(
                    text("UPDATE footprint SET leaf_hash = :l WHERE seq = :s"),
                    {"l": _leaf_hash(eng, cathode_seq), "s": cathode_seq},
                )
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            answer = _computed(env, http.url, cell)
            assert _restored_from(http) is not None
            assert_pact_refused(answer, cathode_seq)
        assert env.server.checkpointer.monitor.failing


def test_records_are_proven_a_page_at_a_time_and_failures_left_to_the_read(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        footprints = record_footprints(env, 6)
        seqs = [f.seq for f in footprints]
        bad = seqs[2]
        with engine(db_url) as eng:
            edit_declared_value(eng, bad, fix_hashes=True)
        verified = VerifiedLog(env.server.store, env.server.checkpointer)  # nothing proven
        node_reads: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            if "merkle_node" in statement:
                node_reads.append(statement)

        intact = [s for s in seqs if s != bad]
        event.listen(Engine, "before_cursor_execute", count)
        try:
            found = verified.proven_records([*reversed(intact), 10**9])
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        assert [r.seq for r in found] == intact  # in seq order, the missing one left out
        # the page failed as a whole; one more query for the per-record proofs naming it
        assert len(node_reads) == 1
        assert not env.server.checkpointer.monitor.failing  # left to the read, unreported

        node_reads.clear()
        event.listen(Engine, "before_cursor_execute", count)
        try:
            with_bad = verified.proven_records(seqs)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        assert [r.seq for r in with_bad] == intact
        assert len(node_reads) == 2  # the page's proof failed; then one per-record query
        assert not env.server.checkpointer.monitor.failing
        with pytest.raises(IntegrityError) as refused:
            verified.record(bad)
        assert refused.value.seq == bad
        assert env.server.checkpointer.monitor.failing


def test_a_computed_answer_asks_about_each_frontier_at_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack citing three cathodes, on a fresh ledger and gateway (nothing proven or
    held): the access policy is asked about the three together, answered in pages of
    two here, and the answer is the one given before the restart."""
    with environment(tmp_path, db_url) as env:
        cathodes = []
        for n in range(3):
            cathode = footprint_entry(SUPPLIER_B, f"{CATHODE}-{n}", unit="kilogram")
            env.submit(SUPPLIER_B, cathode)
            cathodes.append(cathode["footprint"]["id"])
            env.grant(SUPPLIER_B, SUPPLIER, "detail", footprintId=cathodes[-1])
        pack = footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:pack", unit="kilogram")
        pack["composition"]["inputs"] = [
            {"footprintId": c, "amount": "1", "unit": "kilogram"} for c in cathodes
        ]
        env.submit(SUPPLIER, pack)
        before = _computed(env, env.url, pack["footprint"]["id"])
        assert before.status_code == 200, before.text
    monkeypatch.setattr(gateway_footprints, "_READ_AHEAD_PAGE", 2)
    with gateway(tmp_path, db_url) as (_, http):
        footprints = http.app.state.services.footprints
        asked: list[list[str]] = []
        access_all = footprints.access_all

        def spy(org: str, roles: frozenset[str], ids: list[str]) -> Any:
            asked.append(list(ids))
            return access_all(org, roles, ids)

        footprints.access_all = spy
        pages: list[int] = []
        read_ahead = footprints._read_ahead

        def counted(conn: Any, ids: list[str]) -> None:
            pages.append(len(ids))
            read_ahead(conn, ids)

        footprints._read_ahead = counted
        after = _computed(env, http.url, pack["footprint"]["id"])
    assert after.status_code == 200, after.text
    assert after.json() == before.json()
    assert len(asked) == 1 and sorted(asked[0]) == sorted(cathodes)
    assert pages == [2, 1]
