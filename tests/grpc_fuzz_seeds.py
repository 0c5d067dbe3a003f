"""The gRPC attacks we already know, as requests: the fuzzer tries each on every run,
on its own, before exploring (so one failing attack cannot hide another). No tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from google.protobuf.message import Message

from clients.sdk import OrgSigner
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger.canonical import canonicalize
from tests import carbon_builders as cb
from tests.grpc_fuzz_support import Now, forged_token


def _nul_footprint(org: str) -> bytes:
    entry = cb.footprint_entry(org, "urn:pact:product:fuzzer:seed\x00")
    return canonicalize(entry)


def seed_requests(
    method: str, reader: OrgSigner, fuzzer: OrgSigner
) -> list[tuple[list[Message], list[tuple[str, str]]]]:
    """Known hostile requests for ``method``: each run tries them whatever the budget.
    Tokens are made when called (they are single-use and short-lived)."""
    path = f"/carbonledger.v1.Ledger/{method}"

    def token(signer: OrgSigner, **wrong: Any) -> list[tuple[str, str]]:
        header = {"alg": "EdDSA", "typ": "JWT", "kid": signer.key_id.hex()}
        claims = {"iss": signer.org, "aud": path, "iat": Now(0), "exp": Now(60)}
        claims["jti"] = uuid.uuid4().hex
        for key, value in wrong.items():
            (header if key == "kid" else claims)[key] = value
        return [("authorization", f"Bearer {forged_token(signer, header, claims)}")]

    valid = [("authorization", f"Bearer {reader.request_token(path)}")]
    bad_tokens = [
        token(reader, iat=str(int(time.time()))),
        token(reader, exp=str(int(time.time()) + 60)),
        token(reader, kid=["0" * 64]),
        token(reader, iss=["x"]),
    ]
    nested = b"[" * 5_000 + b"]" * 5_000
    nul = _nul_footprint(fuzzer.org)
    submits = [
        pb.SubmitRequest(entry=nested, key_id=b"\x00" * 32, signature=b"\x00" * 64),
        pb.SubmitRequest(entry=nul, key_id=fuzzer.key_id, signature=fuzzer.private_key.sign(nul)),
    ]
    big = 2**64 - 1
    seeds: dict[str, list[tuple[list[Message], list[tuple[str, str]]]]] = {
        "Submit": [([s], []) for s in submits],
        "SubmitStream": [(submits, [])],
        "SubmitBatch": [
            ([pb.SubmitBatchRequest(entries=submits)], []),
            ([pb.SubmitBatchRequest(entries=[submits[0]] * 1_001)], []),
            ([pb.SubmitBatchRequest()], []),
        ],
        "GetEntry": [
            ([pb.GetEntryRequest(seq=2**63)], valid),
            ([pb.GetEntryRequest(entry_id="\x00")], valid),
            *[([pb.GetEntryRequest(seq=1)], t) for t in bad_tokens],
        ],
        "StreamEntries": [([pb.StreamEntriesRequest(from_seq=2**63, to_seq=big)], valid)]
        + [([pb.StreamEntriesRequest()], t) for t in bad_tokens],
        "GetCheckpoint": [([pb.GetCheckpointRequest()], [])],
        "GetInclusionProof": [([pb.GetInclusionProofRequest(seq=big, tree_size=big)], [])],
        "GetConsistencyProof": [([pb.GetConsistencyProofRequest(first=big, second=big)], [])],
        "AddCosignature": [
            ([pb.AddCosignatureRequest(size=big, signature_line="\u2014 w\x00 AAAA")], [])
        ],
    }
    return seeds[method]
