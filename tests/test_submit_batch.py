"""``SubmitBatch``: many signed entries in one message (issue 17, item 1), through a real
ledger on SQLite and PostgreSQL. Each entry keeps its own checks and receipt, a rejected
entry fails nothing else, a resubmission is idempotent, and oversized messages are
refused whole before anything is recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.receipt import Receipt
from ledger.service import MAX_BATCH_ENTRIES
from tests.ledger_fixtures import SUPPLIER, enroll, operator_of, running_server


def _grants(signer: OrgSigner, count: int, start: int = 0) -> list[SignedEntry]:
    """Inventory grants to orgs that need not be enrolled (they are recorded)."""
    return [
        signer.sign(
            new_entry(
                "grant",
                signer.org,
                grantee=f"urn:pact:company:customcode:buyer-{n}",
                inventory=True,
            )
        )
        for n in range(start, start + count)
    ]


def _request(entries: list[SignedEntry]) -> pb.SubmitBatchRequest:
    return pb.SubmitBatchRequest(
        entries=[
            pb.SubmitRequest(entry=e.entry, key_id=e.key_id, signature=e.signature) for e in entries
        ]
    )


def test_each_entry_of_a_batch_is_checked_and_answered_on_its_own(
    tmp_path: Path, db_url: str
) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        good = _grants(supplier, 6)
        forged = dataclasses.replace(good[1], signature=bytes(64))
        self_grant = supplier.sign(new_entry("grant", SUPPLIER, grantee=SUPPLIER, inventory=True))
        clash = supplier.sign(  # the entryId of good[0] with other bytes
            {
                **new_entry(
                    "grant", SUPPLIER, grantee="urn:x:o", productId="urn:x:q", level="summary"
                ),
                "entryId": good[0].entry_id,
            }
        )
        batch = [good[0], forged, good[2], self_grant, good[3], clash, good[4], good[5]]
        size = server.store.tree_size()
        results = list(client.submit_batches(batch, batch_size=8))

        assert [type(r).__name__ for r in results] == [
            "Receipt",
            "Rejected",
            "Receipt",
            "Rejected",
            "Receipt",
            "Rejected",
            "Receipt",
            "Receipt",
        ]
        receipts = [r for r in results if isinstance(r, Receipt)]
        assert [r.entry_id for r in receipts] == [
            e.entry_id for e in (good[0], good[2], good[3], good[4], good[5])
        ]
        assert server.store.tree_size() == size + 5
        assert sorted(r.seq for r in receipts) == list(range(size, size + 5))
        rejected = [r for r in results if isinstance(r, Rejected)]
        assert [r.code for r in rejected] == [
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.ALREADY_EXISTS,
        ]
        assert rejected[1].field == "grantee"

        # Sent again (as after a lost answer): the same receipts, nothing recorded twice.
        again = [r for r in client.submit_batches(batch, batch_size=8) if isinstance(r, Receipt)]
        assert [(r.entry_id, r.seq) for r in again] == [(r.entry_id, r.seq) for r in receipts]
        assert all(r.duplicate for r in again)
        assert server.store.tree_size() == size + 5


def test_many_messages_in_flight_keep_the_order_of_the_entries(tmp_path: Path, db_url: str) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        entries = _grants(supplier, 2_345)
        size = server.store.tree_size()
        results = list(client.submit_batches(entries, batch_size=200, in_flight=4))
        assert all(isinstance(r, Receipt) for r in results)
        assert [r.entry_id for r in results] == [e.entry_id for e in entries]
        assert server.store.tree_size() == size + len(entries)


def test_an_oversized_message_is_refused_whole(tmp_path: Path, db_url: str) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        size = server.store.tree_size()
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = pb_grpc.LedgerStub(channel)
            with pytest.raises(grpc.RpcError) as too_many:
                stub.SubmitBatch(_request(_grants(supplier, MAX_BATCH_ENTRIES + 1)), timeout=60)
            assert too_many.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert f"the limit is {MAX_BATCH_ENTRIES}" in (too_many.value.details() or "")

            big = [
                dataclasses.replace(e, entry=e.entry + b" " * 200_000)
                for e in _grants(supplier, 25)
            ]
            with pytest.raises(grpc.RpcError) as too_big:
                stub.SubmitBatch(_request(big), timeout=60)
            assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert server.store.tree_size() == size
        with pytest.raises(ValueError, match="batch_size"):
            list(client.submit_batches(_grants(supplier, 1), batch_size=MAX_BATCH_ENTRIES + 1))
