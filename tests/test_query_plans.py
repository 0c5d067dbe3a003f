"""Every query the ledger runs while recording and serving is answered from an index
(issue 17, item 0): a query whose cost grows with the log is a bug of the first rank, and
a scan is easy to bring back unnoticed (a row-value ``IN`` list, ``lower()`` on a column,
``IS 1`` for a partial index's ``active``).

Through a real ledger and gateway on SQLite and PostgreSQL: a realistic mix of entries is
recorded (``populate``: enrolments, factors, footprints citing footprints and factors,
grants, an attestation, registry accounts, retirements, a target, an inventory grant, a
site with its inventories, generation readings and rating) and every read path is
exercised as each kind of caller (the site's evaluation and the buyer's programme view
among them); every distinct statement the processes sent is then explained. SQLite is
not ``ANALYZE``d, so its planner assumes large tables; PostgreSQL runs with
``enable_seqscan = off``, so a sequential scan in a plan means that no index can answer
the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, event

from clients.sdk import LedgerClient, new_entry
from gateway.auth import add_client
from gateway.key_binding import client_binding
from ledger.zero_carbon import evaluate_site, result_digest, site_attestations
from ledger.zero_carbon.store import store_reader
from tests import carbon_builders as cb
from tests import site_builders as sb
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll
from tests.test_audit_mix import Ledger, populate
from tests.test_gateway_support import gateway

_WRITES_AND_READS = ("SELECT", "UPDATE", "DELETE", "WITH")
RATER = "urn:pact:company:customcode:site-rater"
SITE = sb.site_urn("plans")


def _statements(db_url: str, tmp_path: Path) -> dict[str, Any]:
    """Each distinct statement sent to ``db_url``'s database while the workload ran, with
    the parameters of its first use."""
    seen: dict[str, Any] = {}
    target = create_engine(db_url).url
    database = (target.get_backend_name(), target.database, target.query.get("options"))

    def capture(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        url = conn.engine.url
        if many or (url.get_backend_name(), url.database, url.query.get("options")) != database:
            return
        catalog = "pg_catalog" in statement or "sqlite_master" in statement  # schema set-up
        if statement.lstrip().upper().startswith(_WRITES_AND_READS) and not catalog:
            seen.setdefault(statement, params)

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        with gateway(tmp_path / "data", db_url) as (server, http):
            with LedgerClient(server.grpc_target) as client:
                ledger = populate(client, server)
                _record_a_site(client, server, ledger)
            _read_everything(server, http.url, ledger)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    return seen


def _record_a_site(client: LedgerClient, server: Any, ledger: Ledger) -> None:
    """A site's year and its rating (issue 19): the site rules' probes while recording,
    then the evaluation's reads (``ledger.zero_carbon.evaluate_site``)."""
    supplier = ledger.supplier
    site = SITE
    for entry in (
        sb.site_enroll(SUPPLIER, site),
        sb.site_inventory(SUPPLIER, site, 2023, baseYear=2020),
        sb.site_inventory(SUPPLIER, site, 2024, baseYear=2020),
        sb.generation_batch(SUPPLIER, site, "1000"),
        cb.inventory_grant(SUPPLIER, RATER),
    ):
        client.submit(supplier.sign(entry))
    rater = enroll(client, ledger.operator, RATER, "verifier")
    with server.store.db.read() as conn:
        result = evaluate_site(store_reader(conn), site, 2024)
    rating = new_entry(
        "site.attestation",
        RATER,
        site=site,
        year=2024,
        level=result.level,
        factoryType="I",
        inputs=result.input_ids,
        resultDigest=result_digest(result),
    )
    client.submit(rater.sign(rating))
    with server.store.db.read() as conn:
        assert len(site_attestations(store_reader(conn), site, 2024)) == 1


def _read_everything(server: Any, url: str, ledger: Ledger) -> None:
    fid = ledger.footprint_id
    paths = [
        "/3/footprints",
        "/3/footprints?status=active&limit=1",
        f"/3/footprints?productId={ledger.footprint_id}&companyId={SUPPLIER}",
        f"/3/footprints/{fid}",
        "/2/footprints",
        f"/2/footprints/{fid}",
        f"/v1/footprints/{fid}/computed",
        f"/v1/footprints/{fid}/contributions",
        f"/v1/suppliers/{SUPPLIER}/progress",
        f"/v1/entries/{ledger.seqs['grant']}",
        "/v1/entries?limit=5",
        "/v1/instruments/cn-gec/GEC202400000005",
        f"/v1/sites/{SITE}/zero-carbon?year=2024",
        f"/v1/sites/{SITE}/zero-carbon?year=2024&atSize=5",
        "/v1/programmes/suppliers",
        "/v1/programmes/suppliers?year=2024",
    ]
    tokens = {}
    for org in (SUPPLIER, BUYER, AUDITOR, RATER):
        credentials = add_client(server.db, client_binding(server.db, server.data_dir.path), org)
        tokens[org] = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.client_id, credentials.client_secret),
        ).json()["access_token"]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[org]}"}) as http:
            for path in paths:
                assert http.get(path).status_code < 500, path
    # An append, then a cached answer asked again: the access journal reads the append.
    with LedgerClient(server.grpc_target) as client:
        client.submit(ledger.supplier.sign(cb.grant(SUPPLIER, RATER, footprint_id=fid)))
    headers = {"Authorization": f"Bearer {tokens[BUYER]}"}
    assert httpx.get(f"{url}/3/footprints/{fid}", headers=headers).status_code < 500
    with LedgerClient(server.grpc_target, signer=ledger.auditor) as client:
        assert client.get_entry(seq=ledger.seqs["footprint"]).seq == ledger.seqs["footprint"]
        assert sum(1 for _ in client.stream_entries(0)) > 0


def _scans(db_url: str, statements: dict[str, Any]) -> Iterator[str]:
    engine = create_engine(db_url)
    sqlite = engine.url.get_backend_name() == "sqlite"
    try:
        with engine.connect() as conn:
            if not sqlite:
                conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements.items():
                prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                plan = "\n".join(
                    str(row[-1]) for row in conn.exec_driver_sql(prefix + statement, params)
                )
                if _has_scan(statement, plan, sqlite):
                    yield f"{' '.join(statement.split())[:300]}\n    {plan}"
    finally:
        engine.dispose()


def _has_scan(statement: str, plan: str, sqlite: bool) -> bool:
    # The one end of an index, e.g. the newest checkpoint: a LIMIT read in index order
    # with no condition reads LIMIT rows, whatever the table holds.
    one_end = "WHERE" not in statement and re.search(r"ORDER BY .* LIMIT", statement, re.DOTALL)
    return any(
        not (one_end and ordered) for ordered in (_sqlite_scans if sqlite else _pg_scans)(plan)
    )


def _sqlite_scans(plan: str) -> Iterator[bool]:
    """Each SCAN of a table in the plan: whether it walks an index (in its order)."""
    for line in plan.splitlines():
        scanned = re.match(r"\s*SCAN (.*)", line)
        if scanned is not None and not re.match(r"(\d+ )?CONSTANT", scanned[1]):
            yield "USING" in scanned[1] and "INDEX" in scanned[1]


def _pg_scans(plan: str) -> Iterator[bool]:
    """Each scan node that reads a whole table or index (no ``Index Cond``): whether it
    walks an index."""
    nodes = re.split(r"\n(?=\s*->)", plan)
    for node in nodes:
        head = node.splitlines()[0]
        if "Seq Scan" in head:
            yield False
        elif "Index" in head and "Scan" in head and "Index Cond" not in node:
            yield True


def test_every_query_is_answered_from_an_index(tmp_path: Path, db_url: str) -> None:
    statements = _statements(db_url, tmp_path)
    assert len(statements) > 30  # the workload reached the rules and every read path
    scans = list(_scans(db_url, statements))
    assert scans == [], "\n".join(scans)
