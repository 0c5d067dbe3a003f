"""An insider repoints a derived index row at another genuine record (issue 12, the read
model): the record itself verifies against the signed tree, so only a check that the
record agrees with what the index claims stops it being served under the wrong name.
Through a real ledger and gateway on SQLite and PostgreSQL; each attack served the other
record (or opened it to the wrong org) before ``FootprintAccess.indexed_entry``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tests import carbon_builders as cb
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_computed_evidence import REGISTRY, _footprint, _retire
from tests.test_gateway_support import SUPPLIER_B, environment
from tests.test_verified_reads import assert_pact_refused


def _sql(db_url: str, statement: str, **params: object) -> None:
    eng = create_engine(db_url)
    try:
        with eng.begin() as conn:
            assert conn.execute(text(statement), params).rowcount >= 1
    finally:
        eng.dispose()


def test_a_footprint_row_pointing_at_another_orgs_record_is_refused(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        mine, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:mine")
        theirs, receipt = env.footprint(SUPPLIER_B, "urn:pact:product:cathode-b:theirs")
        env.server.checkpointer.refresh()
        _sql(
            db_url,
            "UPDATE footprint SET seq = :seq WHERE footprint_id = :fid",
            seq=receipt.seq,
            fid=mine,
        )
        with env.client(SUPPLIER) as http:
            answer = http.get(f"/3/footprints/{mine}")
            assert_pact_refused(answer, receipt.seq)
            assert theirs not in answer.text
            assert http.get("/healthz").status_code == 503


def test_a_footprint_row_given_another_owner_opens_nothing(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        fid, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:cell")
        env.server.checkpointer.refresh()
        _sql(
            db_url,
            "UPDATE footprint SET org_id = :org WHERE footprint_id = :fid",
            org=BUYER,
            fid=fid,
        )
        with env.client(BUYER) as http:
            assert_pact_refused(http.get(f"/3/footprints/{fid}"), receipt.seq)
            listed = http.get("/3/footprints")
            assert fid not in listed.text


def test_a_retirement_indexed_for_another_footprint_is_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        issued = (("GEC-2024-000001", "GEC-2024-000999"),)
        bind = cb.registry_account(env.operator.org, REGISTRY, SUPPLIER, serials=issued)
        env.ledger.submit(env.operator.sign(bind))
        cell = _footprint(env, "urn:pact:product:recycler-a:cell-t")["footprint"]["id"]
        tray = _footprint(env, "urn:pact:product:recycler-a:tray-t")["footprint"]["id"]
        _retire(env, "GEC-2024-000001", "GEC-2024-000010", tray)
        seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        _sql(
            db_url,
            "INSERT INTO retirement_beneficiary (footprint_id, seq) VALUES (:fid, :seq)",
            fid=cell,
            seq=seq,
        )
        with env.client(SUPPLIER) as http:
            assert_pact_refused(http.get(f"/v1/footprints/{cell}/computed"), seq)
            assert http.get("/healthz").status_code == 503


def test_a_footprint_row_given_another_owner_opens_no_computed_view(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        fid, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:secret")
        env.server.checkpointer.refresh()
        for table in ("footprint", "footprint_product"):
            _sql(
                db_url,
                f"UPDATE {table} SET org_id = :org WHERE footprint_id = :fid",
                org=BUYER,
                fid=fid,
            )
        with env.client(BUYER) as http:
            for path in (f"/v1/footprints/{fid}/computed", f"/v1/footprints/{fid}/contributions"):
                assert_pact_refused(http.get(path), receipt.seq)
            assert http.get("/healthz").status_code == 503


def test_a_product_row_pointing_at_another_footprint_is_refused(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        product = "urn:pact:product:recycler-a:cell-p"
        mine, _ = env.footprint(SUPPLIER, product)
        other, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:other-p")
        env.grant(SUPPLIER, BUYER, "detail", productId="urn:pact:product:recycler-a:other-p")
        env.server.checkpointer.refresh()
        _sql(
            db_url,
            "UPDATE footprint_product SET active = false WHERE footprint_id = :fid",
            fid=mine,
        )
        _sql(
            db_url,
            "INSERT INTO footprint_product (footprint_id, product_id, company_id, batch_key,"
            " org_id, active) VALUES (:fid, :product, :company, '', :company, true)",
            fid=other,
            product=product,
            company=SUPPLIER,
        )
        with env.client(SUPPLIER) as http:
            answer = http.get(f"/v1/products/{product}/footprint", params={"companyId": SUPPLIER})
            assert_pact_refused(answer, receipt.seq)
        with env.client(BUYER) as http:
            assert_pact_refused(
                http.get("/3/footprints", params={"productId": product}), receipt.seq
            )


def test_a_forged_deprecation_is_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:kept")
        env.grant(SUPPLIER, BUYER, "detail", footprintId=fid)
        env.server.checkpointer.refresh()
        seq = env.server.store.tree_size() - 1  # the grant: no deprecation of anything
        _sql(
            db_url,
            "UPDATE footprint SET active = false, deprecated_seq = :seq WHERE footprint_id = :fid",
            seq=seq,
            fid=fid,
        )
        with env.client(BUYER) as http:
            answer = http.get(f"/3/footprints/{fid}")
            assert answer.status_code == 500 and "Deprecated" not in answer.text, answer.text
            assert "integrity check failed" in answer.json()["message"]


def test_a_retirement_row_given_another_org_is_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        issued = (("GEC-2024-000001", "GEC-2024-000999"),)
        bind = cb.registry_account(env.operator.org, REGISTRY, SUPPLIER, serials=issued)
        env.ledger.submit(env.operator.sign(bind))
        tray = _footprint(env, "urn:pact:product:recycler-a:tray-r")["footprint"]["id"]
        _retire(env, "GEC-2024-000001", "GEC-2024-000010", tray)
        seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        _sql(db_url, "UPDATE retirement SET org_id = :org WHERE seq = :seq", org=BUYER, seq=seq)
        with env.client(BUYER) as http:
            assert_pact_refused(http.get(f"/v1/instruments/{REGISTRY}/GEC-2024-000005"), seq)
