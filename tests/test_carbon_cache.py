"""The sequencer's cached carbon facts never outlive what they were read from: another
process's appends or a commit that failed (``ledger.store.carbon_cache``)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text

from clients.sdk import LedgerClient, Rejected
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.store.carbon_cache import CarbonFactsCache
from tests import carbon_builders as cb
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.test_commit_isolation import MARK, _refuse_marked_org

SUPPLIER = "urn:pact:company:customcode:cache-supplier"
PRODUCT = "urn:pact:product:cache-supplier:cell"


def test_a_second_process_appending_voids_what_the_first_cached(
    tmp_path: Path, db_url: str
) -> None:
    with (
        running_server(tmp_path, db_url) as first,
        running_server(tmp_path, db_url) as second,
        LedgerClient(first.grpc_target) as via_first,
        LedgerClient(second.grpc_target) as via_second,
    ):
        supplier = enroll(via_first, operator_of(first), SUPPLIER, "supplier")
        original = cb.footprint_entry(SUPPLIER, PRODUCT)
        via_first.submit(supplier.sign(original))  # the first process caches it as active
        successor = cb.footprint_entry(SUPPLIER, PRODUCT, preceding=[original["footprint"]["id"]])
        via_second.submit(supplier.sign(successor))  # ... which the second supersedes
        # Superseding the original again must be refused as a rule, through the first
        # process too: a cache that still held the original as active would let it pass
        # to the database, whose unique index fails the whole commit as unavailable.
        again = supplier.sign(
            cb.footprint_entry(SUPPLIER, PRODUCT, preceding=[original["footprint"]["id"]])
        )
        with (
            grpc.insecure_channel(first.grpc_target) as channel,
            pytest.raises(grpc.RpcError) as refused,
        ):
            pb_grpc.LedgerStub(channel).Submit(
                pb.SubmitRequest(entry=again.entry, key_id=again.key_id, signature=again.signature)
            )
        assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "is already deprecated" in (refused.value.details() or "")
        # and a footprint citing the product resolves to the successor: recorded
        citing = cb.footprint_entry(
            SUPPLIER,
            "urn:pact:product:cache-supplier:module",
            inputs=[
                {"productId": PRODUCT, "companyId": SUPPLIER, "amount": "2", "unit": "kilogram"}
            ],
        )
        assert via_first.submit(supplier.sign(citing)).seq == first.store.tree_size() - 1


def test_a_failed_commit_leaves_nothing_cached(tmp_path: Path, db_url: str) -> None:
    marked = f"urn:pact:company:customcode:{MARK}"
    product = "urn:pact:product:marked:cell"
    with (
        running_server(tmp_path, db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        supplier = enroll(client, operator_of(server), marked, "supplier")
        footprint = supplier.sign(cb.footprint_entry(marked, product))
        _refuse_marked_org(db_url)
        # The rules pass and cache the footprint; the database then refuses the commit.
        with pytest.raises(Rejected) as refused:
            client.submit(footprint)
        assert "store cannot hold this entry" in refused.value.message
        _drop_refusal(db_url)
        # Had the cache outlived the rollback, the footprint would now be refused as a
        # duplicate of itself ("was recorded at seq ...").
        receipt = client.submit(footprint)
        stored = server.store.record(receipt.seq)
        assert stored is not None and stored.entry == footprint.entry


def _drop_refusal(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER refuse_marked"))
        else:
            conn.execute(text("ALTER TABLE record DROP CONSTRAINT refuse_marked"))
    engine.dispose()


def test_a_full_cache_starts_again_empty_after_a_commit() -> None:
    cache = CarbonFactsCache(limit=2)
    cache.start(7)
    cache.declared.update({("org", "a"): True, ("org", "b"): True, ("org", "c"): False})
    cache.committed(8)
    assert (cache.size, cache.declared) == (8, {})  # valid for the new size, and empty
    cache.declared[("org", "a")] = True
    cache.committed(9)
    assert cache.declared == {("org", "a"): True}  # under the limit: kept
    cache.start(10)  # another process appended in between: nothing kept
    assert (cache.size, cache.declared) == (-1, {})
