"""An insider repoints a derived index row at another genuine record (issue 12, the read
model): the record itself verifies against the signed tree, so only a check that the
record agrees with what the index claims stops it being served under the wrong name.
Through a real ledger and gateway on SQLite and PostgreSQL; each attack served the other
record (or opened it to the wrong org) before ``FootprintAccess.indexed_entry``."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text

from clients.sdk import LedgerClient
from tests import carbon_builders as cb
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_computed_evidence import REGISTRY, _footprint, _retire
from tests.test_gateway_support import OTHER_BUYER, SUPPLIER_B, environment
from tests.test_verified_reads import assert_data_loss, assert_pact_refused


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


def test_a_retirement_row_given_another_serial_range_is_refused(
    tmp_path: Path, db_url: str
) -> None:
    """Red team, 2026-12-06 (F1): the serial range was served from the row as it stood,
    so a widened ``last`` credited serials no record retired, health green."""
    with environment(tmp_path, db_url) as env:
        issued = (("GEC-2024-000001", "GEC-2024-000999"),)
        bind = cb.registry_account(env.operator.org, REGISTRY, SUPPLIER, serials=issued)
        env.ledger.submit(env.operator.sign(bind))
        tray = _footprint(env, "urn:pact:product:recycler-a:tray-w")["footprint"]["id"]
        _retire(env, "GEC-2024-000001", "GEC-2024-000010", tray)
        seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        with env.client(SUPPLIER) as http:
            assert http.get(f"/v1/instruments/{REGISTRY}/GEC-2024-000005").status_code == 200
            _sql(db_url, "UPDATE retirement SET last = '000900' WHERE seq = :seq", seq=seq)
            answer = http.get(f"/v1/instruments/{REGISTRY}/GEC-2024-000600")
            assert_pact_refused(answer, seq)
            assert "000900" not in answer.text
            assert http.get("/healthz").status_code == 503


def test_a_product_row_given_a_granted_product_opens_nothing(tmp_path: Path, db_url: str) -> None:
    """Red team, 2026-12-06 (F2): a ``footprint_product`` row moved to a product the
    buyer holds a product-line grant for opened a footprint that does not declare that
    product (single reads, listings, computed), health green."""
    granted = "urn:pact:product:recycler-a:granted"
    with environment(tmp_path, db_url) as env:
        env.footprint(SUPPLIER, granted)
        hidden, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:hidden")
        env.grant(SUPPLIER, BUYER, "summary", productId=granted)
        env.server.checkpointer.refresh()
        with env.client(BUYER) as http:
            _sql(
                db_url,
                "UPDATE footprint_product SET product_id = :p, batch_key = 'x' "
                "WHERE footprint_id = :fid",
                p=granted,
                fid=hidden,
            )
            for path in (f"/3/footprints/{hidden}", "/3/footprints", "/2/footprints"):
                answer = http.get(path)
                assert_pact_refused(answer, receipt.seq)
                assert hidden not in answer.text
            assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize("moved", ["product row", "footprint id"])
def test_an_index_row_moved_to_a_grant_opens_no_entry(
    tmp_path: Path, db_url: str, moved: str
) -> None:
    """Noticed 2026-12-06: ``/v1/entries`` and gRPC ``GetEntry`` found a footprint entry's
    grants through its ``footprint_product`` rows and its ``footprint`` row's id, as they
    stood. A product row moved to a product the buyer holds a detail grant for, or the
    footprint row given a granted footprint's id, served the entry's bytes, composition
    and all. The footprint's id and products now come from the signed entry itself."""
    granted = "urn:pact:product:recycler-a:granted-line"
    with environment(tmp_path, db_url) as env:
        open_fid, _ = env.footprint(SUPPLIER, granted)
        hidden, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:hidden-entry")
        if moved == "product row":
            env.grant(SUPPLIER, BUYER, "detail", productId=granted)
            statements = [
                "UPDATE footprint_product SET product_id = :p, batch_key = 'x' "
                "WHERE footprint_id = :fid"
            ]
        else:  # the two footprint rows swap ids
            env.grant(SUPPLIER, BUYER, "detail", footprintId=open_fid)
            statements = [
                "UPDATE footprint SET footprint_id = 'swap' WHERE footprint_id = :open",
                "UPDATE footprint SET footprint_id = :open WHERE footprint_id = :fid",
                "UPDATE footprint SET footprint_id = :fid WHERE footprint_id = 'swap'",
            ]
        env.server.checkpointer.refresh()
        with env.client(BUYER) as http:
            assert http.get(f"/v1/entries/{receipt.seq}").status_code == 404
            for statement in statements:
                _sql(db_url, statement, p=granted, fid=hidden, open=open_fid)
            answer = http.get(f"/v1/entries/{receipt.seq}")
            assert answer.status_code == 404, answer.text
            assert hidden not in answer.text
        with LedgerClient(env.server.grpc_target, signer=env.orgs[BUYER]) as client:
            with pytest.raises(grpc.RpcError) as refused:
                client.get_entry(seq=receipt.seq)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_forged_deprecation_is_refused_after_the_entry_was_cached(
    tmp_path: Path, db_url: str
) -> None:
    """Red team, 2026-12-06 (F3, F4): once a footprint's entry was cached, listings took
    the index row's deprecation as it stood (``deprecatedSeq`` of another record, health
    green), and a listing after the alarm served it again."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:warm")
        env.grant(SUPPLIER, BUYER, "detail", footprintId=fid)
        env.server.checkpointer.refresh()
        other = env.server.store.tree_size() - 1  # the grant: no deprecation of anything
        with env.client(BUYER) as http:
            assert fid in http.get("/3/footprints").text  # the entry is now cached
            _sql(
                db_url,
                "UPDATE footprint SET active = false, deprecated_seq = :seq "
                "WHERE footprint_id = :fid",
                seq=other,
                fid=fid,
            )
            for _ in range(2):
                answer = http.get("/3/footprints")
                assert answer.status_code == 500, answer.text
                assert "Deprecated" not in answer.text
            assert http.get("/healthz").status_code == 503


@pytest.mark.parametrize("change", ["level", "grantee", "window"])
def test_a_grant_row_changed_opens_nothing_more(tmp_path: Path, db_url: str, change: str) -> None:
    """Red team, 2026-12-06: ``access_grant`` rows were used as they stood, so a level
    raised to ``detail``, another grantee or a window opened early gave a footprint
    beyond what the grantor signed, health green. The grants that open a footprint are
    now checked against their records."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:granted-row")
        window = {"validFrom": "2099-01-01T00:00:00Z"} if change == "window" else {}
        grant_id = env.grant(SUPPLIER, BUYER, "summary", footprintId=fid, **window)
        grant_seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        reader = OTHER_BUYER if change == "grantee" else BUYER
        statement = {
            "level": "UPDATE access_grant SET level = 'detail' WHERE entry_id = :g",
            "grantee": "UPDATE access_grant SET grantee = :other WHERE entry_id = :g",
            "window": "UPDATE access_grant SET valid_from_us = NULL WHERE entry_id = :g",
        }[change]
        _sql(db_url, statement, g=grant_id, other=OTHER_BUYER)
        with env.client(reader) as http:
            for path in (f"/3/footprints/{fid}", "/3/footprints"):
                answer = http.get(path)
                assert_pact_refused(answer, grant_seq)
                assert fid not in answer.text
            assert http.get("/healthz").status_code == 503


def test_a_grant_row_raised_to_detail_opens_no_entry(tmp_path: Path, db_url: str) -> None:
    """Red team, 2026-12-06: a grant row raised to ``detail`` let its grantee read the
    footprint entry's bytes (``/v1/entries/{seq}``, gRPC ``GetEntry``), composition and
    all, health green."""
    with environment(tmp_path, db_url) as env:
        fid, receipt = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:entry-row")
        grant_id = env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        grant_seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        with env.client(BUYER) as http:
            assert http.get(f"/v1/entries/{receipt.seq}").status_code == 404  # summary only
            _sql(db_url, "UPDATE access_grant SET level = 'detail' WHERE entry_id = :g", g=grant_id)
            assert_pact_refused(http.get(f"/v1/entries/{receipt.seq}"), grant_seq)
        with LedgerClient(env.server.grpc_target, signer=env.orgs[BUYER]) as client:
            assert_data_loss(lambda: client.get_entry(seq=receipt.seq), grant_seq)


def test_an_inventory_grant_row_given_another_grantee_opens_nothing(
    tmp_path: Path, db_url: str
) -> None:
    """Red team, 2026-12-06: an inventory grant row given another grantee opened the
    supplier's progress and programme to that org, health green."""
    with environment(tmp_path, db_url) as env:
        env.submit(SUPPLIER, cb.inventory_grant(SUPPLIER, BUYER))
        grant_seq = env.server.store.tree_size() - 1
        env.server.checkpointer.refresh()
        _sql(
            db_url,
            "UPDATE access_grant SET grantee = :other WHERE seq = :s",
            other=OTHER_BUYER,
            s=grant_seq,
        )
        with env.client(OTHER_BUYER) as http:
            for path in (f"/v1/suppliers/{SUPPLIER}/progress", "/v1/programmes/suppliers"):
                answer = http.get(path)
                assert_pact_refused(answer, grant_seq)
            assert http.get("/healthz").status_code == 503
