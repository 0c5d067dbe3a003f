"""Poison entries fail only themselves: whatever bytes a submitter sends, other
organisations' submissions checked and committed with them are recorded, and the
server logs no traceback for it (issue 14, findings 1 and 2)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, new_entry
from clients.sdk.entries import SignedEntry
from ledger._internal.prevalidate import Item, check_items
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.canonical import canonicalize, parse_canonical
from ledger.entries import Entry
from ledger.errors import MalformedEntryError
from ledger.json_limits import MAX_DEPTH
from ledger.keys import encode_public_key, new_private_key, public_key_bytes
from tests.ledger_fixtures import enroll, operator_of, running_server

ZERO_KEY_ID = bytes(32)
ZERO_SIGNATURE = bytes(64)
ORGS = [f"urn:pact:company:customcode:hostile-test-{i}" for i in range(4)]


@dataclass(frozen=True)
class Poison:
    name: str
    entry: bytes
    expected: str  # in the refusal's message


def _poisons() -> list[Poison]:
    noise = random.Random(14).randbytes(5000)
    return [
        Poison("deep arrays", b"[" * 5000, f"nested deeper than {MAX_DEPTH}"),
        Poison("deep object", b'{"a":' * 2500 + b"1" + b"}" * 2500, f"deeper than {MAX_DEPTH}"),
        Poison("random bytes", noise, "not valid UTF-8"),
        Poison("huge integer", b'{"a":' + b"9" * 5000 + b"}", "integer of more than"),
        Poison("long integer", b'{"a":' + b"9" * 4000 + b"}", "safe range"),
        Poison("lone surrogate", b'{"a":"\\ud800"}', "not valid Unicode"),
        Poison("NUL", b'{"a":"x\\u0000"}', "U+0000"),
        Poison("empty", b"", "not valid JSON"),
    ]


def _readings(meter: str) -> list[dict[str, str]]:
    return [
        {
            "meterId": meter,
            "stage": "smelting",
            "intervalStart": f"2025-03-01T00:{minute:02}:00Z",
            "intervalEnd": f"2025-03-01T00:{minute:02}:30Z",
            "quantity": "12.5",
            "unit": "kWh",
            "quality": "measured",
        }
        for minute in range(3)
    ]


def _legit(signer: OrgSigner, meter: str) -> SignedEntry:
    return signer.sign(
        new_entry(
            "activity.batch",
            signer.org,
            site="plant-1",
            collectorId="edge-7",
            readings=_readings(meter),
        )
    )


def _submit(stub: pb_grpc.LedgerStub, request: pb.SubmitRequest) -> tuple[grpc.StatusCode, str]:
    """The status of one plain Submit: no SDK retries to hide a failure."""
    try:
        stub.Submit(request, timeout=60)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.fixture
def ledger_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="ledger"):
        yield caplog


def _assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]


@pytest.mark.parametrize("workers", [1, 2], ids=["checked-in-process", "worker-processes"])
def test_poison_entries_fail_alone_among_concurrent_submissions(
    tmp_path: Path, db_url: str, workers: int, ledger_logs: pytest.LogCaptureFixture
) -> None:
    with (
        running_server(tmp_path, db_url, workers=workers) as server,
        LedgerClient(server.grpc_target) as client,
        grpc.insecure_channel(server.grpc_target) as channel,
    ):
        signers = [enroll(client, operator_of(server), org, "supplier") for org in ORGS]
        stub = pb_grpc.LedgerStub(channel)
        legit = [_legit(signers[i % len(signers)], f"meter-{i}") for i in range(40)]
        poisons = _poisons() * 3
        requests: list[tuple[str, pb.SubmitRequest]] = []
        for i, signed in enumerate(legit):
            requests.append(
                (
                    "legit",
                    pb.SubmitRequest(
                        entry=signed.entry, key_id=signed.key_id, signature=signed.signature
                    ),
                )
            )
            if i < len(poisons):
                poison = poisons[i]
                requests.append(
                    (
                        poison.name,
                        pb.SubmitRequest(
                            entry=poison.entry, key_id=ZERO_KEY_ID, signature=ZERO_SIGNATURE
                        ),
                    )
                )
        start = threading.Barrier(8, timeout=60)

        def send(item: tuple[str, pb.SubmitRequest]) -> tuple[grpc.StatusCode, str]:
            return _submit(stub, item[1])

        with ThreadPoolExecutor(8, initializer=start.wait) as pool:
            results = list(pool.map(send, requests))

        outcomes = dict(zip(range(len(requests)), results, strict=True))
        legit_codes = [outcomes[i] for i, (kind, _) in enumerate(requests) if kind == "legit"]
        assert legit_codes == [(grpc.StatusCode.OK, "")] * len(legit)
        expected = {p.name: p.expected for p in _poisons()}
        for i, (kind, _) in enumerate(requests):
            if kind != "legit":
                code, detail = outcomes[i]
                assert code is grpc.StatusCode.INVALID_ARGUMENT, (kind, code, detail)
                assert expected[kind] in detail, (kind, detail)
        assert server.store.tree_size() == 1 + len(ORGS) + len(legit)
    _assert_no_traceback(ledger_logs)


def test_a_worker_chunk_refuses_only_its_poison_entries() -> None:
    """What each worker process runs on its chunk: a verdict per entry, never a raise."""
    signer = OrgSigner(ORGS[0], new_private_key())
    good = _legit(signer, "meter-w")
    items: list[Item] = [(good.entry, signer.public_key, good.signature)]
    for poison in _poisons():
        items += [(poison.entry, None, ZERO_SIGNATURE), (good.entry, None, good.signature)]
    verdicts = check_items(items)
    assert isinstance(verdicts[0], Entry)
    for i, poison in enumerate(_poisons()):
        refusal = verdicts[1 + 2 * i]
        assert isinstance(refusal, tuple) and poison.expected in refusal[0], (poison, refusal)
        assert isinstance(verdicts[2 + 2 * i], Entry)


def test_nesting_is_bounded_at_the_documented_depth_and_the_path_named() -> None:
    def nested(depth: int) -> dict[str, object]:
        obj: dict[str, object] = {"leaf": "x"}
        for _ in range(depth - 1):
            obj = {"k": obj}
        return obj

    assert parse_canonical(canonicalize(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    with pytest.raises(MalformedEntryError, match=f"deeper than {MAX_DEPTH}") as refused:
        parse_canonical(canonicalize(nested(MAX_DEPTH + 1)))
    assert refused.value.field == ".".join(["k"] * MAX_DEPTH)
    arrays = b'{"a":' + b"[" * 40 + b"]" * 40 + b',"b":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'
    with pytest.raises(MalformedEntryError, match=f"deeper than {MAX_DEPTH}") as refused:
        parse_canonical(arrays)
    assert refused.value.field == "a" + "[0]" * (MAX_DEPTH - 1)
    # Brackets in strings are no nesting.
    shallow = {"a": "[" * 100, "b": [{"c": "]" * 40}] * 50}
    assert parse_canonical(canonicalize(shallow)) == shallow
    # Too deep for the parser itself: the path is found by scanning the text.
    too_deep = b'{"a":[{"b":' + b"[" * 3000 + b"]" * 3000 + b"}]}"
    with pytest.raises(MalformedEntryError, match=f"deeper than {MAX_DEPTH}") as refused:
        parse_canonical(too_deep)
    assert refused.value.field == "a[0].b" + "[0]" * (MAX_DEPTH - 3)
    doc = (Path(__file__).resolve().parent.parent / "docs" / "ledger-format.md").read_text()
    assert f"{MAX_DEPTH} levels" in doc


def test_nul_in_any_string_is_refused_with_its_path_on_every_backend(
    tmp_path: Path, db_url: str, ledger_logs: pytest.LogCaptureFixture
) -> None:
    """A U+0000 in a URN passes the URN pattern; PostgreSQL cannot store it. It is
    refused by validation, the same way on both backends, and the entries of other
    organisations submitted with it are recorded."""
    with (
        running_server(tmp_path, db_url) as server,
        LedgerClient(server.grpc_target) as client,
        grpc.insecure_channel(server.grpc_target) as channel,
    ):
        operator = operator_of(server)
        signers = [enroll(client, operator, org, "supplier") for org in ORGS]
        stub = pb_grpc.LedgerStub(channel)
        bad_org = "urn:pact:company:customcode:bad\x00org"
        bad = operator.sign(
            new_entry(
                "org.enroll",
                operator.org,
                orgId=bad_org,
                name="bad",
                roles=["supplier"],
                publicKey=encode_public_key(public_key_bytes(new_private_key())),
            )
        )
        bad_member = signers[0].sign(
            new_entry(
                "activity.batch",
                signers[0].org,
                site="plant\x00-1",
                collectorId="edge-7",
                readings=_readings("meter-nul"),
            )
        )
        signed = [bad, bad_member] + [_legit(s, f"meter-{i}") for i, s in enumerate(signers * 3)]
        requests = [
            pb.SubmitRequest(entry=s.entry, key_id=s.key_id, signature=s.signature) for s in signed
        ]
        # One stream: the entries queue together, so they are checked and committed together.
        responses = list(stub.SubmitStream(iter(requests), timeout=60))
        by_index = {r.index: r for r in responses}
        assert sorted(by_index) == list(range(len(requests)))
        for index in (0, 1):
            rejection = by_index[index].rejection
            assert rejection.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            assert "U+0000" in rejection.message
        assert by_index[0].rejection.field == "orgId"
        assert by_index[1].rejection.field == "site"
        for index in range(2, len(requests)):
            assert by_index[index].WhichOneof("result") == "receipt", by_index[index]
        code, _ = _submit(stub, requests[0])
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert server.store.tree_size() == 1 + len(ORGS) + len(requests) - 2
    _assert_no_traceback(ledger_logs)
