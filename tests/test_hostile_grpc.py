"""Every gRPC method answers every input with a defined status, never UNKNOWN
(issue 14, finding 3): integers beyond 64 bits, NUL and control characters,
over-long strings, and request tokens with malformed encodings or claims."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.keys import key_id, new_private_key, public_key_bytes
from ledger.note import CosignatureSigner
from ledger.request_token import METADATA_KEY
from ledger.server import LedgerServer
from ledger.service import SERVICE_NAME
from tests.ledger_fixtures import SUPPLIER, enroll, operator_of, running_server

U64_MAX = 2**64 - 1
OWN_SEQ = 2  # the supplier's own entry, which it may read
Codes = set[grpc.StatusCode]
NOT_THERE: Codes = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.OUT_OF_RANGE}


@pytest.fixture
def ledger(tmp_path: Path, db_url: str) -> Iterator[tuple[LedgerServer, OrgSigner]]:
    with (
        # Open witnessing, so that cosignature lines of any key reach the size look-up.
        running_server(tmp_path, db_url, open_witnessing=True) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        reading = {
            "meterId": "m",
            "stage": "smelting",
            "intervalStart": "2025-03-01T00:00:00Z",
            "intervalEnd": "2025-03-01T00:00:30Z",
            "quantity": "1",
            "unit": "kWh",
            "quality": "measured",
        }
        own = new_entry("activity.batch", SUPPLIER, site="s", collectorId="c", readings=[reading])
        assert client.submit(supplier.sign(own)).seq == OWN_SEQ
        yield server, supplier


def _status(rpc: Callable[..., Any], request: Any, **kwargs: Any) -> tuple[grpc.StatusCode, str]:
    """The status ``rpc(request)`` ends with (reading a stream to its end)."""
    try:
        result = rpc(request, timeout=30, **kwargs)
        if isinstance(result, Iterator):
            list(result)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def _auth(signer: OrgSigner, method: str) -> list[tuple[str, str]]:
    return [(METADATA_KEY, f"Bearer {signer.request_token(f'/{SERVICE_NAME}/{method}')}")]


def _reads(signer: OrgSigner) -> list[tuple[str, Any, Codes]]:
    """(method, request, statuses that are a defined answer to it)."""
    ok = {grpc.StatusCode.OK}
    return [
        ("GetEntry", pb.GetEntryRequest(seq=2**63), NOT_THERE),
        ("GetEntry", pb.GetEntryRequest(seq=U64_MAX), NOT_THERE),
        ("GetEntry", pb.GetEntryRequest(seq=2**63 - 1), NOT_THERE),
        ("GetEntry", pb.GetEntryRequest(entry_id="x\x00y"), NOT_THERE),
        ("GetEntry", pb.GetEntryRequest(entry_id="é" * 100_000), NOT_THERE),
        ("GetEntry", pb.GetEntryRequest(seq=OWN_SEQ), ok),
        ("GetEntry", pb.GetEntryRequest(), NOT_THERE),  # seq 0, the operator's: not visible
        ("StreamEntries", pb.StreamEntriesRequest(from_seq=2**63), ok),
        ("StreamEntries", pb.StreamEntriesRequest(from_seq=U64_MAX, to_seq=U64_MAX), ok),
        ("StreamEntries", pb.StreamEntriesRequest(from_seq=1, to_seq=U64_MAX), ok),
        ("StreamEntries", pb.StreamEntriesRequest(from_seq=5, to_seq=2), ok),
    ]


def _public(size: int) -> list[tuple[str, Any, Codes]]:
    invalid = {grpc.StatusCode.INVALID_ARGUMENT}
    absent = {grpc.StatusCode.FAILED_PRECONDITION}
    checkpoint = f"example\n{size}\n{base64.b64encode(bytes(32)).decode()}\n"
    line = CosignatureSigner("w", new_private_key()).cosign(checkpoint, 5)
    long_name = CosignatureSigner("w" * 300, new_private_key()).cosign(checkpoint, 5)
    return [
        ("GetInclusionProof", pb.GetInclusionProofRequest(seq=U64_MAX, tree_size=size), NOT_THERE),
        ("GetInclusionProof", pb.GetInclusionProofRequest(seq=0, tree_size=U64_MAX), NOT_THERE),
        ("GetInclusionProof", pb.GetInclusionProofRequest(leaf_hash=b"\x00" * 5), NOT_THERE),
        ("GetConsistencyProof", pb.GetConsistencyProofRequest(first=U64_MAX, second=size), invalid),
        ("GetConsistencyProof", pb.GetConsistencyProofRequest(first=1, second=U64_MAX), NOT_THERE),
        ("AddCosignature", pb.AddCosignatureRequest(size=2**63, signature_line=line), absent),
        ("AddCosignature", pb.AddCosignatureRequest(size=U64_MAX, signature_line=line), absent),
        ("AddCosignature", pb.AddCosignatureRequest(size=size, signature_line="\x00"), invalid),
        ("AddCosignature", pb.AddCosignatureRequest(size=size, signature_line=long_name), invalid),
        ("Submit", pb.SubmitRequest(), invalid),
        (
            "Submit",
            pb.SubmitRequest(entry=b"\x00" * 64, key_id=bytes(32), signature=bytes(64)),
            invalid,
        ),
    ]


def test_every_method_answers_hostile_integers_and_strings(
    ledger: tuple[LedgerServer, OrgSigner], caplog: pytest.LogCaptureFixture
) -> None:
    server, signer = ledger
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.LedgerStub(channel)
        size = stub.GetCheckpoint(pb.GetCheckpointRequest()).size
        answers = []
        for method, request, allowed in _reads(signer):
            rpc = getattr(stub, method)
            code, detail = _status(rpc, request, metadata=_auth(signer, method))
            answers.append((method, str(request)[:60], code, detail, code in allowed))
        for method, request, allowed in _public(size):
            rpc = getattr(stub, method)
            code, detail = _status(rpc, request)
            answers.append((method, str(request)[:60], code, detail, code in allowed))
        wrong = [answer for answer in answers if not answer[-1]]
        assert not wrong, wrong
        assert all(answer[3] for answer in answers if answer[2] is not grpc.StatusCode.OK)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tokens(signer: OrgSigner, method: str) -> dict[str, str]:
    """Request tokens a careless or hostile client could send, by what is wrong."""
    audience = f"/{SERVICE_NAME}/{method}"
    kid = key_id(public_key_bytes(signer.private_key)).hex()
    now = int(time.time())

    def signed(claims: dict[str, Any], **headers: Any) -> str:
        """Signed by the caller's real key (so only the claims are wrong), written by
        hand: PyJWT refuses to encode most of these."""
        base = {"iss": signer.org, "aud": audience, "iat": now, "exp": now + 60, "jti": "n"}
        merged = {k: v for k, v in (base | claims).items() if v is not None}
        header = json.dumps({"alg": "EdDSA", "kid": kid} | headers).encode()
        signing_input = f"{_b64(header)}.{_b64(json.dumps(merged).encode())}"
        return f"{signing_input}.{_b64(signer.private_key.sign(signing_input.encode()))}"

    def raw(header: bytes, payload: bytes) -> str:
        return f"{_b64(header)}.{_b64(payload)}.{_b64(bytes(64))}"

    good_header = json.dumps({"alg": "EdDSA", "kid": kid}).encode()
    return {
        "iat string": signed({"iat": "yesterday", "jti": "a"}),
        "exp string": signed({"exp": "tomorrow", "jti": "b"}),
        "iat numeric string": signed({"iat": str(now), "jti": "c"}),
        "exp numeric string": signed({"exp": str(now + 60), "jti": "c2"}),
        "exp Infinity": signed({"exp": float("inf"), "jti": "c3"}),
        "iat NaN": signed({"iat": float("nan"), "jti": "c4"}),
        "iat true": signed({"iat": True, "jti": "c5"}),
        "exp huge": signed({"exp": 10**30, "jti": "d"}),
        "iat huge negative": signed({"iat": -(10**30), "jti": "e"}),
        "iat list": signed({"iat": [now], "jti": "f"}),
        "exp missing": signed({"exp": None, "jti": "g"}),
        "iss object": signed({"iss": {"org": signer.org}, "jti": "h"}),
        "jti object": signed({"jti": {"n": 1}}),
        "aud list of objects": signed({"aud": [{"x": 1}], "jti": "i"}),
        "kid number": signed({"jti": "j"}, kid=12),
        "kid not hex": signed({"jti": "k"}, kid="zz"),
        "alg none": raw(json.dumps({"alg": "none", "kid": kid}).encode(), b'{"iss":"x"}'),
        "alg HS256": jwt.encode(
            {"iss": signer.org}, "secret" * 6, algorithm="HS256", headers={"kid": kid}
        ),
        "bad base64": "%%%.###.$$$",
        "one part": "abc",
        "header a list": raw(b"[1,2]", b"{}"),
        "header deep": raw(b"[" * 5000, b"{}"),
        "payload deep": raw(good_header, b"[" * 5000),
        "payload a list": raw(good_header, b"[]"),
        "payload not UTF-8": raw(good_header, b"\xff\xfe"),
        "huge integer": raw(good_header, b'{"exp":' + b"9" * 5000 + b"}"),
    }


@pytest.mark.parametrize("method", ["GetEntry", "StreamEntries"])
def test_malformed_request_tokens_are_unauthenticated(
    ledger: tuple[LedgerServer, OrgSigner], method: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, signer = ledger
    requests = {
        "GetEntry": pb.GetEntryRequest(seq=OWN_SEQ),
        "StreamEntries": pb.StreamEntriesRequest(),
    }
    with grpc.insecure_channel(server.grpc_target) as channel:
        rpc = getattr(pb_grpc.LedgerStub(channel), method)
        answers = {
            name: _status(rpc, requests[method], metadata=[(METADATA_KEY, f"Bearer {token}")])
            for name, token in _tokens(signer, method).items()
        }
        wrong = {
            name: a for name, a in answers.items() if a[0] is not grpc.StatusCode.UNAUTHENTICATED
        }
        assert not wrong, wrong
        assert all(detail for _, detail in answers.values())
        # A token is refused for what it is, not for who sends it: a good one still works.
        assert (
            _status(rpc, requests[method], metadata=_auth(signer, method))[0] is grpc.StatusCode.OK
        )
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
