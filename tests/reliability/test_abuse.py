"""Every attack we know, in one table: the exact rejection, and nothing written.

gRPC side here; the gateway's (token reuse after expiry, a buyer reading what
was not granted) is in the gateway tests and listed again in the last test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger.keys import new_private_key
from ledger.request_token import make_token
from tests import carbon_builders as cb
from tests.chain_fixture import (
    BUYER,
    LI2CO3,
    RECYCLER,
    REFINER,
    Chain,
    chain,
)

__all__ = ["chain"]
pytestmark = pytest.mark.reliability

Attack = Callable[[Chain], Any]


def _wrong_key(c: Chain) -> Any:
    impostor = OrgSigner(RECYCLER, new_private_key())
    return c.submit(impostor, cb.footprint_entry(RECYCLER, LI2CO3))


def _revoked_key(c: Chain) -> Any:
    key = c.refiner.key_id.hex()
    c.submit(c.refiner, new_entry("key.revoke", REFINER, orgId=REFINER, keyId=key))
    return c.submit(c.refiner, cb.footprint_entry(REFINER, "urn:pact:product:refiner:x"))


def _replayed_with_other_bytes(c: Chain) -> Any:
    entry = cb.footprint_entry(RECYCLER, LI2CO3)
    c.submit(c.recycler, entry)
    forged = cb.footprint_entry(RECYCLER, "urn:pact:product:recycler:other")
    return c.submit(c.recycler, {**forged, "entryId": entry["entryId"]})


def _another_orgs_product(c: Chain) -> Any:
    return c.submit(c.refiner, {**cb.footprint_entry(RECYCLER, LI2CO3), "org": REFINER})


def _non_verifier_attestation(c: Chain) -> Any:
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    c.submit(c.recycler, fp)
    return c.submit(c.buyer, cb.attestation(BUYER, fp["entryId"]))


def _grant_by_non_owner(c: Chain) -> Any:
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    c.submit(c.recycler, fp)
    return c.submit(c.refiner, cb.grant(REFINER, BUYER, footprint_id=fp["footprint"]["id"]))


def _double_retired_serial(c: Chain) -> Any:
    c.submit(c.recycler, cb.retirement(RECYCLER, "cn-gec", "GEC-2024-000001", "GEC-2024-000100"))
    return c.submit(
        c.recycler, cb.retirement(RECYCLER, "cn-gec", "GEC-2024-000100", "GEC-2024-000100")
    )


def _oversized_message(c: Chain) -> Any:
    data = b'{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    return c.client.submit(SignedEntry(data, c.recycler.key_id, bytes(64), ""))


ATTACKS: list[tuple[str, Attack, grpc.StatusCode, str]] = [
    ("wrong key", _wrong_key, grpc.StatusCode.UNAUTHENTICATED, "no enrolled key with this keyId"),
    ("revoked key", _revoked_key, grpc.StatusCode.PERMISSION_DENIED, "revoked"),
    (
        "replayed entryId, other bytes",
        _replayed_with_other_bytes,
        grpc.StatusCode.ALREADY_EXISTS,
        "other content",
    ),
    (
        "another org's product",
        _another_orgs_product,
        grpc.StatusCode.PERMISSION_DENIED,
        "footprint.companyIds[0]",
    ),
    (
        "non-verifier attestation",
        _non_verifier_attestation,
        grpc.StatusCode.PERMISSION_DENIED,
        "verifier",
    ),
    (
        "grant by a non-owner",
        _grant_by_non_owner,
        grpc.StatusCode.FAILED_PRECONDITION,
        "only the owner grants",
    ),
    ("double-retired serial", _double_retired_serial, grpc.StatusCode.ALREADY_EXISTS, "overlap"),
    ("oversized message", _oversized_message, grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
]


@pytest.mark.parametrize(("name", "attack", "code", "text"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_and_writes_nothing(
    chain: Chain, name: str, attack: Attack, code: grpc.StatusCode, text: str
) -> None:
    sizes: list[int] = []
    original = chain.client.submit

    def counting_submit(entry: SignedEntry) -> Any:
        sizes.append(chain.server.store.tree_size())
        return original(entry)

    chain.client.submit = counting_submit  # type: ignore[method-assign]
    with pytest.raises(Rejected) as err:
        attack(chain)
    assert err.value.code == code, err.value.message
    assert text in err.value.message
    # The size before the refused (last) submission is the size after it.
    assert chain.server.store.tree_size() == sizes[-1], name


def test_replay_of_identical_bytes_returns_the_original_receipt(chain: Chain) -> None:
    signed = chain.recycler.sign(cb.footprint_entry(RECYCLER, LI2CO3))
    first = chain.client.submit(signed)
    size = chain.server.store.tree_size()
    again = chain.client.submit(signed)
    assert again.duplicate and again.seq == first.seq
    assert chain.server.store.tree_size() == size


def test_malformed_protobuf_is_refused_and_the_server_lives_on(chain: Chain) -> None:
    size = chain.server.store.tree_size()
    with grpc.insecure_channel(chain.server.grpc_target) as channel:
        raw = channel.unary_unary(
            "/carbonledger.v1.Ledger/Submit",
            request_serializer=lambda b: b,
            response_deserializer=pb.Receipt.FromString,
        )
        with pytest.raises(grpc.RpcError) as err:
            raw(b"\xff\xff\xff\xff garbage", timeout=10)
    assert err.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT)
    assert chain.server.store.tree_size() == size
    assert chain.submit(chain.recycler, cb.footprint_entry(RECYCLER, LI2CO3)).seq == size


def test_expired_request_token_and_ungranted_reads_are_refused(chain: Chain) -> None:
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    receipt = chain.submit(chain.recycler, fp)
    method = "/carbonledger.v1.Ledger/GetEntry"
    expired = make_token(chain.recycler.private_key, RECYCLER, method, lifetime=-30)
    with grpc.insecure_channel(chain.server.grpc_target) as channel:
        stub = channel.unary_unary(
            method,
            request_serializer=pb.GetEntryRequest.SerializeToString,
            response_deserializer=pb.EntryRecord.FromString,
        )
        with pytest.raises(grpc.RpcError) as err:
            stub(
                pb.GetEntryRequest(seq=receipt.seq),
                metadata=[("authorization", f"Bearer {expired}")],
            )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (err.value.details() or "")
    with LedgerClient(chain.server.grpc_target, signer=chain.buyer) as as_buyer:
        with pytest.raises(grpc.RpcError) as err:
            as_buyer.get_entry(entry_id=fp["entryId"])
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError):
            as_buyer.get_entry(entry_id=str(uuid.uuid4()))
        assert list(as_buyer.stream_entries(0)) == []
