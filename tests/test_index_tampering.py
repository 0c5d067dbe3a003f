"""A derived table's column holding a value of another type (red team, 2026-12-06 night,
R4). SQLite stores what an insider writes: ``footprint.seq = 'abc'``, a grant's level
as a blob. Reading such a row failed deep inside a reader (a ``KeyError`` on the level,
a ``TypeError`` comparing seqs): a 500 with a traceback, the connection dropped, health
green. Now the value is refused as it is read (``ledger.store.stored_types``): the
integrity alarm naming the column, on HTTP and gRPC, and ``fsck`` still names and
repairs the row. PostgreSQL's columns hold only their type, so these are SQLite's.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import Boolean, text

from clients.audit.fsck import fsck
from clients.sdk import LedgerClient, Rejected
from ledger.store.database import Database
from ledger.store.derived import derived_tables
from ledger.store.stored_types import CheckedType
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import environment
from tests.test_verified_reads import assert_pact_refused, engine, grpc_health, record_footprints
from tests.test_verified_reads import health_pb2 as health

# (column, the insider's UPDATE): each broke a read path before (500, traceback).
TAMPERINGS = [
    ("footprint.seq", "UPDATE footprint SET seq = 'abc'"),
    ("footprint.leaf_hash", "UPDATE footprint SET leaf_hash = CAST(leaf_hash AS TEXT)"),
    ("access_grant.valid_until_us", "UPDATE access_grant SET valid_until_us = 'soon'"),
    ("access_grant.level", "UPDATE access_grant SET level = CAST(level AS BLOB)"),
    (
        "footprint_product.product_id",
        "UPDATE footprint_product SET product_id = CAST(product_id AS BLOB)",
    ),
]


def test_every_derived_column_refuses_a_value_of_another_type() -> None:
    """A table added to the store later is guarded without anyone listing it (booleans
    are read as ``bool(value)``, which no stored value fails)."""
    unguarded = [
        f"{table.name}.{column.name}"
        for table in derived_tables()
        for column in table.columns
        if not isinstance(column.type, CheckedType | Boolean)
    ]
    assert unguarded == []


@pytest.mark.parametrize(("column", "change"), TAMPERINGS, ids=[c for c, _ in TAMPERINGS])
def test_an_index_column_of_another_type_is_the_alarm_not_a_traceback(
    tmp_path: Path, column: str, change: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with (
        environment(tmp_path, db_url) as env,
        env.client(AUDITOR) as auditor,
        env.client(BUYER) as buyer,
    ):
        shared = record_footprints(env, 2)[0]
        env.grant(SUPPLIER, BUYER, "detail", footprintId=shared.id)
        assert buyer.get(f"/3/footprints/{shared.id}").status_code == 200
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text(change))
        for http, path in (
            (buyer, f"/3/footprints/{shared.id}"),
            (buyer, "/3/footprints"),
            (auditor, f"/v1/footprints/{shared.id}/computed"),
        ):
            answer = http.get(path)
            if answer.status_code == 200:  # a path that does not read the column
                continue
            assert answer.status_code == 500, (path, answer.text)
            body = answer.json()
            assert set(body) == {"code", "message"}, body  # no data
            assert f"integrity check failed for the index column {column}" in body["message"]
        health_answer = auditor.get("/healthz")
        assert health_answer.status_code == 503, health_answer.text
        assert health_answer.json()["failedIndexes"] == [column]
        # The repair: fsck names the row and rebuilds it from the log.
        db = Database(db_url)
        try:
            found = fsck(db)
            assert not found.ok and any(
                d.table == column.split(".")[0] for d in found.findings.rows
            )
            assert fsck(db, repair=True).ok
            assert fsck(db).ok
        finally:
            db.dispose()


def test_a_grant_level_of_another_type_is_data_loss_on_grpc(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env:
        shared = record_footprints(env, 1)[0]
        env.grant(SUPPLIER, BUYER, "detail", footprintId=shared.id)
        with LedgerClient(env.server.grpc_target, signer=env.orgs[BUYER]) as client:
            assert client.get_entry(seq=shared.seq).seq == shared.seq
            with engine(db_url) as eng, eng.begin() as conn:
                conn.execute(text("UPDATE access_grant SET level = CAST(level AS BLOB)"))
            with pytest.raises(grpc.RpcError) as failed:
                client.get_entry(seq=shared.seq)
        assert failed.value.code() == grpc.StatusCode.DATA_LOSS
        assert "index column access_grant.level" in str(failed.value.details())
        assert grpc_health(env.server) == health.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("column", ["leaf_hash", "entry_id"])
def test_a_footprint_row_naming_another_records_leaf_or_entry_id_is_refused(
    tmp_path: Path, db_url: str, column: str
) -> None:
    """Red team, 2026-12-06 (H2): ``footprint.leaf_hash`` set to another record's leaf was
    served as the footprint's ``leafHash`` (the ledger extension), health green: the row
    was checked to name the org's footprint of that id, but not its leaf or entry id."""
    with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
        first, second = record_footprints(env, 2)
        env.grant(SUPPLIER, BUYER, "detail", footprintId=first.id)
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(
                text(
                    f"UPDATE footprint SET {column} = "
                    f"(SELECT {column} FROM record WHERE seq = :other) WHERE seq = :s"
                ),
                {"other": second.seq, "s": first.seq},
            )
        answer = buyer.get(f"/3/footprints/{first.id}")
        assert_pact_refused(answer, first.seq)
        assert "the footprint index does not match the record it names" in answer.text
        health_answer = buyer.get("/healthz")
        assert health_answer.status_code == 503
        assert first.seq in health_answer.json()["failedSeqs"]


def test_a_column_the_rules_read_is_the_alarm_for_submissions_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Red team, 2026-12-06 night: the sequencer's rules reading such a row (a revocation
    reads its grant's row) answered "not recorded, retry: CorruptIndexError" with a
    traceback and no alarm, health green; every submission would do so until a repair."""
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        shared = record_footprints(env, 1)[0]
        grant_id = env.grant(SUPPLIER, BUYER, "detail", footprintId=shared.id)
        with engine(db_url) as eng, eng.begin() as conn:
            conn.execute(text("UPDATE access_grant SET level = CAST(level AS BLOB)"))
        caplog.clear()
        with pytest.raises(Rejected) as refused:
            env.revoke(SUPPLIER, grant_id)
        assert refused.value.code == grpc.StatusCode.UNAVAILABLE  # retryable once repaired
        assert "index column access_grant.level" in refused.value.message
        assert grpc_health(env.server) == health.HealthCheckResponse.NOT_SERVING
        assert auditor.get("/healthz").json()["failedIndexes"] == ["access_grant.level"]
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
        # Repaired, the same revocation is recorded.
        db = Database(db_url)
        try:
            assert fsck(db, repair=True).ok
        finally:
            db.dispose()
        env.revoke(SUPPLIER, grant_id)
