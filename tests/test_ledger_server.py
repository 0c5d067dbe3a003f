"""The ledger over real gRPC on loopback, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.canonical import canonicalize
from ledger.keys import encode_public_key, new_private_key, public_key_bytes
from ledger.merkle import MerkleTree, verify_consistency, verify_inclusion
from ledger.note import NoteVerifier, open_checkpoint
from ledger.record import Record
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll, operator_of, running_server


def _rotate(signer: OrgSigner) -> dict[str, object]:
    return new_entry(
        "key.rotate",
        signer.org,
        orgId=signer.org,
        newPublicKey=encode_public_key(public_key_bytes(new_private_key())),
    )


def test_submit_records_verifiable_entries(tmp_path: Path, db_url: str) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        operator = operator_of(server)
        supplier = enroll(client, operator, SUPPLIER, "supplier")
        signed = supplier.sign(_rotate(supplier))
        receipt = client.submit(signed)
        assert receipt.seq == 2 and not receipt.duplicate

        checkpoint_msg = client.checkpoint()
        verifier = NoteVerifier.from_vkey(server.vkey)
        checkpoint = open_checkpoint(checkpoint_msg.note, verifier)
        assert checkpoint.size == 3

        # The receipt's leaf is in the signed tree, and the record rebuilds that leaf.
        proof = client.inclusion_proof(receipt.seq, checkpoint.size)
        verify_inclusion(
            receipt.leaf_hash, receipt.seq, checkpoint.size, proof, checkpoint.root_hash
        )
        stored = server.store.record(receipt.seq)
        assert stored is not None and stored.entry == signed.entry
        rebuilt = Record(
            stored.seq,
            stored.timestamp_us,
            stored.prev_chain_hash,
            stored.entry_hash,
            stored.key_id,
            stored.signature,
        )
        assert rebuilt.leaf_hash() == receipt.leaf_hash
        assert rebuilt.chain_hash() == receipt.chain_hash
        previous = server.store.record(receipt.seq - 1)
        assert previous is not None and stored.prev_chain_hash == previous.chain_hash


def test_retry_returns_original_receipt_and_conflict_is_refused(
    tmp_path: Path, db_url: str
) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        entry = _rotate(supplier)
        first = client.submit(supplier.sign(entry))
        again = client.submit(supplier.sign(entry))
        assert again.duplicate and (again.seq, again.leaf_hash) == (first.seq, first.leaf_hash)
        size = server.store.tree_size()

        changed = {**entry, "newPublicKey": encode_public_key(public_key_bytes(new_private_key()))}
        with pytest.raises(Rejected) as err:
            client.submit(supplier.sign(changed))
        assert err.value.code == grpc.StatusCode.ALREADY_EXISTS
        assert f"seq {first.seq}" in err.value.message
        assert server.store.tree_size() == size


def _raw_submit(client: LedgerClient, entry: bytes, key_id: bytes, signature: bytes) -> None:
    from clients.sdk.entries import SignedEntry

    client.submit(SignedEntry(entry, key_id, signature, ""))


REJECTIONS = [
    # (name, expected status, text the message must contain)
    ("bad signature", grpc.StatusCode.UNAUTHENTICATED, "signature"),
    # Like a bad signature under an enrolled key: no oracle on which key ids are enrolled.
    ("unknown key", grpc.StatusCode.UNAUTHENTICATED, "no enrolled key with this keyId"),
    ("malformed json", grpc.StatusCode.INVALID_ARGUMENT, "not valid JSON"),
    ("non-canonical bytes", grpc.StatusCode.INVALID_ARGUMENT, "canonical"),
    ("float quantity", grpc.StatusCode.INVALID_ARGUMENT, "z.qty: JSON numbers"),
    ("outside roles", grpc.StatusCode.PERMISSION_DENIED, "operator"),
    ("too large", grpc.StatusCode.RESOURCE_EXHAUSTED, "limit"),
    ("revoked key", grpc.StatusCode.PERMISSION_DENIED, "revoked"),
    ("another org's key", grpc.StatusCode.PERMISSION_DENIED, "belongs to"),
    ("bad field", grpc.StatusCode.INVALID_ARGUMENT, "roles[0]"),
]


@pytest.mark.parametrize(("case", "code", "text"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejections_name_the_problem_and_write_nothing(
    tmp_path: Path, db_url: str, case: str, code: grpc.StatusCode, text: str
) -> None:
    with (
        running_server(tmp_path, db_url, max_entry_bytes=2048) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        supplier = enroll(client, operator, SUPPLIER, "supplier")
        other = enroll(client, operator, BUYER, "buyer")
        if case == "revoked key":
            client.submit(
                supplier.sign(
                    new_entry(
                        "key.revoke", supplier.org, orgId=supplier.org, keyId=supplier.key_id.hex()
                    )
                )
            )
        size = server.store.tree_size()
        good = supplier.sign(_rotate(supplier))
        enroll_entry = new_entry(
            "org.enroll",
            supplier.org,
            orgId="urn:pact:company:customcode:x",
            name="X",
            roles=["supplier"],
            publicKey=encode_public_key(public_key_bytes(new_private_key())),
        )

        def sign_raw(data: bytes) -> Callable[[], None]:
            return lambda: _raw_submit(
                client, data, supplier.key_id, supplier.private_key.sign(data)
            )

        stranger = OrgSigner(SUPPLIER, new_private_key())
        attempts: dict[str, Callable[[], object]] = {
            "bad signature": lambda: _raw_submit(client, good.entry, good.key_id, bytes(64)),
            "unknown key": lambda: client.submit(stranger.sign(_rotate(supplier))),
            "malformed json": sign_raw(b'{"type": '),
            "non-canonical bytes": sign_raw(json.dumps(_rotate(supplier), indent=1).encode()),
            "float quantity": sign_raw(canonicalize(_rotate(supplier))[:-1] + b',"z":{"qty":1.5}}'),
            "outside roles": lambda: client.submit(supplier.sign(enroll_entry)),
            "too large": lambda: client.submit(
                supplier.sign({**_rotate(supplier), "pad": "x" * 4096})
            ),
            "revoked key": lambda: client.submit(good),
            "another org's key": lambda: client.submit(
                other.sign({**_rotate(supplier), "org": supplier.org})
            ),
            "bad field": lambda: client.submit(
                operator.sign({**enroll_entry, "org": operator.org, "roles": ["x"]})
            ),
        }
        with pytest.raises(Rejected) as err:
            attempts[case]()
        assert err.value.code == code, err.value.message
        assert text in err.value.message
        assert server.store.tree_size() == size


def test_stream_many_signers_with_rejections_in_between(tmp_path: Path, db_url: str) -> None:
    with (
        running_server(tmp_path, db_url, workers=2) as server,
        LedgerClient(server.grpc_target, window=64) as client,
    ):
        operator = operator_of(server)
        entries = []
        for i in range(150):
            org = f"urn:pact:company:customcode:s{i}"
            signer = OrgSigner(org, new_private_key())
            entries.append(
                operator.sign(
                    new_entry(
                        "org.enroll",
                        operator.org,
                        orgId=org,
                        name=f"S{i}",
                        roles=["supplier"],
                        publicKey=encode_public_key(signer.public_key),
                    )
                )
            )
        entries.insert(75, entries[10])  # a retry inside the stream: same receipt
        results = list(client.submit_stream(entries))
        receipts = [r for r in results if not isinstance(r, Rejected)]
        assert len(results) == 151
        assert sorted({r.seq for r in receipts}) == list(range(1, 151))
        assert sum(r.duplicate for r in receipts) == 1
        assert server.store.tree_size() == 151


def test_stream_over_in_flight_limit_is_resource_exhausted(tmp_path: Path) -> None:
    from ledger.store.database import sqlite_url

    with (
        running_server(tmp_path, sqlite_url(tmp_path), max_in_flight=4) as server,
        LedgerClient(server.grpc_target, window=100_000, stream_retries=0) as client,
    ):
        operator = operator_of(server)
        entries = [operator.sign(_rotate(operator)) for _ in range(2000)]
        with pytest.raises(grpc.RpcError) as err:
            list(client.submit_stream(entries))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "in flight" in (err.value.details() or "")


def test_reads_need_a_token_and_the_right_role(tmp_path: Path, db_url: str) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        operator = operator_of(server)
        supplier = enroll(client, operator, SUPPLIER, "supplier")
        auditor = enroll(client, operator, AUDITOR, "auditor")
        buyer = enroll(client, operator, BUYER, "buyer")
        new_key = new_private_key()
        rotation = new_entry(
            "key.rotate",
            supplier.org,
            orgId=supplier.org,
            newPublicKey=encode_public_key(public_key_bytes(new_key)),
        )
        own = client.submit(supplier.sign(rotation))
        supplier = OrgSigner(SUPPLIER, new_key)

        with grpc.insecure_channel(server.grpc_target) as channel:
            with pytest.raises(grpc.RpcError) as err:
                pb_grpc.LedgerStub(channel).GetEntry(pb.GetEntryRequest(seq=own.seq))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "missing request token" in (err.value.details() or "")

        with LedgerClient(server.grpc_target, signer=supplier) as as_supplier:
            assert as_supplier.get_entry(seq=own.seq).leaf_hash == own.leaf_hash
            assert [r.seq for r in as_supplier.stream_entries(0)] == [own.seq]
        with LedgerClient(server.grpc_target, signer=buyer) as as_buyer:
            with pytest.raises(grpc.RpcError) as err:
                as_buyer.get_entry(seq=own.seq)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert list(as_buyer.stream_entries(0)) == []
        with LedgerClient(server.grpc_target, signer=auditor) as as_auditor:
            assert as_auditor.get_entry(seq=own.seq).leaf_hash == own.leaf_hash
            assert [r.seq for r in as_auditor.stream_entries(0)] == list(range(5))


def test_request_tokens_are_single_use_and_bound_to_the_method(tmp_path: Path) -> None:
    from ledger.request_token import make_token
    from ledger.store.database import sqlite_url

    with running_server(tmp_path, sqlite_url(tmp_path)) as server:
        operator = operator_of(server)
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = pb_grpc.LedgerStub(channel)
            method = "/carbonledger.v1.Ledger/GetEntry"
            token = make_token(operator.private_key, operator.org, method)
            metadata = [("authorization", f"Bearer {token}")]
            assert stub.GetEntry(pb.GetEntryRequest(seq=0), metadata=metadata).seq == 0
            with pytest.raises(grpc.RpcError) as err:
                stub.GetEntry(pb.GetEntryRequest(seq=0), metadata=metadata)
            assert "already used" in (err.value.details() or "")

            other = make_token(operator.private_key, operator.org, "/carbonledger.v1.Ledger/X")
            with pytest.raises(grpc.RpcError) as err:
                stub.GetEntry(
                    pb.GetEntryRequest(seq=0), metadata=[("authorization", f"Bearer {other}")]
                )
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "not for" in (err.value.details() or "")

            expired = make_token(operator.private_key, operator.org, method, lifetime=-60)
            with pytest.raises(grpc.RpcError) as err:
                stub.GetEntry(
                    pb.GetEntryRequest(seq=0), metadata=[("authorization", f"Bearer {expired}")]
                )
            assert "expired" in (err.value.details() or "")


def test_proofs_between_checkpoints_and_restart(tmp_path: Path, db_url: str) -> None:
    verifier_key = ""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        verifier_key = server.vkey
        operator = operator_of(server)
        enroll(client, operator, SUPPLIER, "supplier")
        first = open_checkpoint(client.checkpoint().note, NoteVerifier.from_vkey(verifier_key))
        for i in range(6):
            enroll(client, operator, f"urn:pact:company:customcode:b{i}", "buyer")
        second = open_checkpoint(client.checkpoint().note, NoteVerifier.from_vkey(verifier_key))
        proof = client.consistency_proof(first.size, second.size)
        verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash)
        leaves = [r.leaf_hash for r in server.store.records(0, second.size)]
        assert MerkleTree(leaves).root() == second.root_hash

        with pytest.raises(grpc.RpcError) as err:
            client.inclusion_proof(0, second.size + 5)
        assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE

    # A restart resumes the same log, keys and identity state from the store.
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        assert server.vkey == verifier_key
        assert server.store.tree_size() == second.size
        operator = operator_of(server)
        enroll(client, operator, "urn:pact:company:customcode:late", "buyer")
        with pytest.raises(Rejected) as rejected:
            enroll(client, operator, SUPPLIER, "supplier")
        assert rejected.value.code == grpc.StatusCode.ALREADY_EXISTS
        third = open_checkpoint(client.checkpoint().note, NoteVerifier.from_vkey(verifier_key))
        proof = client.consistency_proof(second.size, third.size)
        verify_consistency(second.size, third.size, proof, second.root_hash, third.root_hash)


def test_a_failed_commit_writes_nothing_and_is_retryable(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import text

    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        operator = operator_of(server)
        enroll(client, operator, SUPPLIER, "supplier")
        size = server.store.tree_size()
        # An insider's row where the next leaf's Merkle node must go makes the commit fail.
        with server.db.write() as conn:
            conn.execute(
                text(f"INSERT INTO merkle_node (level, idx, hash) VALUES (0, {size}, :h)"),
                {"h": bytes(32)},
            )
        buyer_key = OrgSigner(BUYER, new_private_key())
        entry = operator.sign(
            new_entry(
                "org.enroll",
                operator.org,
                orgId=BUYER,
                name="Buyer",
                roles=["buyer"],
                publicKey=encode_public_key(buyer_key.public_key),
            )
        )
        with pytest.raises(Rejected) as err:
            client.submit(entry)
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
        assert server.store.tree_size() == size
        assert BUYER not in server.identity.current().orgs
        with server.db.write() as conn:
            conn.execute(text(f"DELETE FROM merkle_node WHERE level = 0 AND idx = {size}"))
        receipt = client.submit(entry)  # the same entry, retried
        assert receipt.seq == size and not receipt.duplicate
        assert BUYER in server.identity.current().orgs


def test_a_broken_stream_leaves_no_blocked_thread(tmp_path: Path) -> None:
    """When the server goes away mid-stream, the SDK's request thread ends (no thread stays
    blocked on the window), and flow control never drew more than the window ahead."""
    import threading

    from ledger.store.database import sqlite_url

    baseline = set(threading.enumerate())
    taken: list[str] = []
    with running_server(tmp_path, sqlite_url(tmp_path)) as server:
        operator = operator_of(server)

        def entries() -> Iterator[SignedEntry]:
            for _ in range(10_000):
                signed = operator.sign(_rotate(operator))
                taken.append(signed.entry_id)
                yield signed

        client = LedgerClient(server.grpc_target, window=4, stream_retries=0)
        stream = client.submit_stream(entries())
        answered = [next(stream) for _ in range(3)]
        server.stop()  # the server goes away while the stream is open
        with pytest.raises(grpc.RpcError):
            answered.extend(stream)
        client.close()
    for thread in set(threading.enumerate()) - baseline:
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{thread.name} is still blocked"
    assert len(answered) < len(taken) <= len(answered) + 4 + 1
