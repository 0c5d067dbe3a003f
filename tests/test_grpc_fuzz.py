"""Property-based fuzzing of every gRPC method of a live ledger, on SQLite and PostgreSQL.

Hypothesis builds each method's request message field by field (edge integers, NUL
strings, mutated and deeply nested entries signed by an enrolled org, request tokens
with wrong-typed claims) and also sends raw bytes as the serialized request, through a
real server on a loopback port. Every call must end in a status the method documents
(never UNKNOWN, INTERNAL or UNAVAILABLE), and a legitimate org submitting signed
entries in the background all the while must get every receipt on the first try and
find every entry afterwards: no fuzzed request affects anyone else's.

The budget is ``CARBONLEDGER_FUZZ_EXAMPLES`` examples per method and kind (small by
default; ``make test-reliability`` runs the larger twin in ``tests/reliability``).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message_factory import GetMessageClass
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from clients.sdk import LedgerClient, OrgSigner, Rejected
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from tests import carbon_builders as cb
from tests import grpc_fuzz_support as fz
from tests.fuzz_settings import budget, fuzz_settings
from tests.grpc_fuzz_seeds import seed_requests
from tests.ledger_fixtures import AUDITOR, SUPPLIER, enroll, operator_of, running_server

FUZZER = "urn:pact:company:customcode:fuzzer"
SERVICE = pb.DESCRIPTOR.services_by_name["Ledger"]
CALL_TIMEOUT = 30.0
C = grpc.StatusCode

_SUBMIT_CODES = {
    C.OK,
    C.INVALID_ARGUMENT,
    C.UNAUTHENTICATED,
    C.PERMISSION_DENIED,
    C.ALREADY_EXISTS,
    C.FAILED_PRECONDITION,
    C.RESOURCE_EXHAUSTED,
}
_READ_CODES = {
    C.OK,
    C.RESOURCE_EXHAUSTED,
    C.UNAUTHENTICATED,
    C.NOT_FOUND,
    C.INVALID_ARGUMENT,
    C.OUT_OF_RANGE,
}
_PROOF_CODES = {C.OK, C.RESOURCE_EXHAUSTED, C.NOT_FOUND, C.INVALID_ARGUMENT, C.OUT_OF_RANGE}
# The statuses each method documents (docs/api.md); anything else is a fuzz failure.
# RESOURCE_EXHAUSTED everywhere: gRPC's own limits on metadata and message size.
ALLOWED: dict[str, set[grpc.StatusCode]] = {
    "Submit": _SUBMIT_CODES,
    "SubmitStream": {C.OK, C.INVALID_ARGUMENT, C.RESOURCE_EXHAUSTED},
    "SubmitBatch": {C.OK, C.INVALID_ARGUMENT, C.RESOURCE_EXHAUSTED},
    "GetEntry": _READ_CODES,
    "StreamEntries": _READ_CODES,
    "GetCheckpoint": {C.OK, C.RESOURCE_EXHAUSTED, C.INVALID_ARGUMENT},
    "GetInclusionProof": _PROOF_CODES,
    "GetConsistencyProof": _PROOF_CODES,
    "AddCosignature": _SUBMIT_CODES | {C.NOT_FOUND, C.OUT_OF_RANGE},
}
_SUBMIT_STATUS_VALUES = {code.value[0] for code in _SUBMIT_CODES}
Case = tuple[list[bytes], list[tuple[str, str]]]  # serialized requests, metadata


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str
    responses: list[bytes]


def call(
    channel: grpc.Channel,
    method: Any,
    requests: list[bytes],
    metadata: list[tuple[str, str]],
) -> Outcome:
    """One call with raw request bytes (no serializer), whatever the method's shape."""
    path = f"/{SERVICE.full_name}/{method.name}"
    responses: list[bytes] = []  # kept when the call ends in an error after some answers
    try:
        if method.client_streaming:
            answers = channel.stream_stream(path)(
                iter(requests), metadata=metadata, timeout=CALL_TIMEOUT
            )
        elif method.server_streaming:
            answers = channel.unary_stream(path)(
                requests[0], metadata=metadata, timeout=CALL_TIMEOUT
            )
        else:
            answers = [
                channel.unary_unary(path)(requests[0], metadata=metadata, timeout=CALL_TIMEOUT)
            ]
        for answer in answers:
            responses.append(answer)
    except grpc.RpcError as err:
        return Outcome(err.code(), err.details() or "", responses)
    return Outcome(C.OK, "", responses)


def _show(data: bytes, method: Any) -> str:
    try:
        text = repr(GetMessageClass(method.input_type).FromString(data))
    except Exception:
        text = f"(not a {method.input_type.name})"
    return f"{text[:600]} raw={data[:200]!r}{'...' if len(data) > 200 else ''} ({len(data)} bytes)"


def _show_metadata(metadata: list[tuple[str, str]]) -> str:
    """The metadata, with a JWT's header and claims decoded (what a bogus token got wrong)."""
    shown = []
    for key, value in metadata:
        parts = value.rsplit(" ", 1)[-1].split(".")
        try:
            decoded = [
                json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]
            ]
        except ValueError:
            decoded = []
        shown.append(f"{key}: {value[:200]!r}" + (f" = JWT {decoded}" if decoded else ""))
    return "metadata " + ("; ".join(shown) or "(none)")


def check(method: Any, requests: list[bytes], metadata: Any, outcome: Outcome) -> None:
    """The call ended in a documented status (and so did each streamed submission)."""
    shown = "\n  ".join(_show(r, method) for r in requests[:5])
    where = f"{method.name} with {_show_metadata(metadata)}\n  {shown}"
    assert outcome.code in ALLOWED[method.name], (
        f"{where}\nanswered {outcome.code.name}: {outcome.details!r}"
    )
    answers: list[pb.SubmitStreamResponse] = []
    if method.name == "SubmitStream":
        answers = [pb.SubmitStreamResponse.FromString(raw) for raw in outcome.responses]
    elif method.name == "SubmitBatch":
        answers = [
            a for raw in outcome.responses for a in pb.SubmitBatchResponse.FromString(raw).results
        ]
    if answers:
        for answer in answers:
            if answer.WhichOneof("result") == "rejection":
                code = answer.rejection.code
                assert code in _SUBMIT_STATUS_VALUES, (
                    f"{where}\nrejected entry {answer.index} with status {code}: {answer.rejection}"
                )


@dataclass
class LegitSubmitter:
    """An enrolled org submitting valid signed footprints without retries, one per
    fuzzed call (``tick``) while the next call runs, until stopped: what a fuzzed
    request must never disturb. Pacing by calls keeps the log from outgrowing them."""

    target: str
    signer: OrgSigner
    stop: threading.Event = field(default_factory=threading.Event)
    first: threading.Event = field(default_factory=threading.Event)
    tick: threading.Event = field(default_factory=threading.Event)
    receipts: list[tuple[bytes, pb.Receipt]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        with grpc.insecure_channel(self.target) as channel:
            stub = pb_grpc.LedgerStub(channel)
            while not self.stop.is_set():
                if self.receipts and not self.tick.wait(timeout=0.2):
                    continue
                self.tick.clear()
                product = f"urn:pact:product:recycler-a:cell-{len(self.receipts)}"
                entry = cb.footprint_entry(self.signer.org, product)
                signed = self.signer.sign(entry)
                request = pb.SubmitRequest(
                    entry=signed.entry, key_id=signed.key_id, signature=signed.signature
                )
                try:
                    self.receipts.append((signed.entry, stub.Submit(request, timeout=60)))
                except grpc.RpcError as err:
                    self.failures.append(f"{err.code().name}: {err.details()}")
                self.first.set()


def _strategies(method: Any, signers: list[OrgSigner], fuzzer: OrgSigner) -> SearchStrategy[Case]:
    """Structured requests for ``method``: serialized messages plus metadata."""
    path = f"/{SERVICE.full_name}/{method.name}"
    if method.input_type.name in ("SubmitRequest", "SubmitBatchRequest"):
        signed = fz.submit_requests(fuzzer)
        one = st.one_of(signed, signed, signed, fz.messages(pb.SubmitRequest.DESCRIPTOR))
        message = (
            one
            if method.input_type.name == "SubmitRequest"
            else st.lists(one, max_size=8).map(lambda rs: pb.SubmitBatchRequest(entries=rs))
        )
    elif method.input_type.name == "AddCosignatureRequest":
        message = fz.messages(method.input_type, {"signature_line": fz.cosignature_lines()})
    else:
        message = fz.messages(method.input_type)
    count = (1, 6) if method.client_streaming else (1, 1)
    requests = st.lists(
        message.map(lambda m: m.SerializeToString()), min_size=count[0], max_size=count[1]
    )
    return st.tuples(requests, fz.metadata(signers, path))


def _raw_strategies(method: Any) -> SearchStrategy[Case]:
    count = 4 if method.client_streaming else 1
    return st.tuples(st.lists(fz.raw_requests(), min_size=1, max_size=count), st.just([]))


def _fuzz_one(
    strategy: SearchStrategy[Case],
    examples: int,
    database: Path,
    each: Callable[[list[bytes], list[tuple[str, str]]], None],
) -> None:
    @given(case=strategy)
    @fuzz_settings(examples, database)
    def run(case: Case) -> None:
        each(*case)

    run()


class _Tracebacks(logging.Handler):
    """Collects log records that carry a traceback: none is due to a client's mistake."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            key = f"{record.name}: {record.getMessage()[:200]} ({record.exc_info[0]})"
            self.seen[key] = self.seen.get(key, 0) + 1


def fuzz_ledger(data_dir: Path, db_url: str, examples: int) -> dict[str, int]:
    """Fuzz every Ledger method of a live server; return how many calls ended in each
    status (``method STATUS``). Raises with every method's failure listed."""
    counts: dict[str, int] = {}
    failures: list[str] = []
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    try:
        _fuzz_ledger(data_dir, db_url, examples, counts, failures)
    finally:
        logging.getLogger().removeHandler(tracebacks)
    failures.extend(f"[log] {n} x traceback logged: {k}" for k, n in tracebacks.seen.items())
    assert not failures, "\n\n".join(failures)
    return counts


def _fuzz_ledger(
    data_dir: Path, db_url: str, examples: int, counts: dict[str, int], failures: list[str]
) -> None:
    with (
        running_server(data_dir / "ledger", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        legit = LegitSubmitter(server.grpc_target, enroll(client, operator, SUPPLIER, "supplier"))
        reader = enroll(client, operator, AUDITOR, "auditor")
        fuzzer = enroll(client, operator, FUZZER, "supplier", "verifier")
        background = threading.Thread(target=legit.run, name="legit-submitter", daemon=True)
        background.start()
        assert legit.first.wait(60), "the legitimate submitter never got an answer"
        with grpc.insecure_channel(server.grpc_target) as channel:

            def each_call(method: Any) -> Callable[[list[bytes], list[tuple[str, str]]], None]:
                def run(requests: list[bytes], metadata: list[tuple[str, str]]) -> None:
                    outcome = call(channel, method, requests, metadata)
                    legit.tick.set()
                    key = f"{method.name} {outcome.code.name}"
                    counts[key] = counts.get(key, 0) + 1
                    check(method, requests, metadata, outcome)

                return run

            for method in SERVICE.methods:
                assert method.name in ALLOWED, f"{method.name} has no documented statuses here"
                # The attacks we know first, each on its own (one cannot hide another).
                for i, (messages, metadata) in enumerate(
                    seed_requests(method.name, reader, fuzzer)
                ):
                    try:
                        each_call(method)([m.SerializeToString() for m in messages], metadata)
                    except AssertionError as exc:
                        failures.append(f"[{method.name}, known attack {i}] {exc}")
                for kind, strategy in (
                    ("structured", _strategies(method, [reader, fuzzer, legit.signer], fuzzer)),
                    ("raw bytes", _raw_strategies(method)),
                ):
                    # Submissions reach the most code: twice the examples.
                    n = examples * (2 if kind == "structured" and "Submit" in method.name else 1)
                    try:
                        _fuzz_one(strategy, n, data_dir / "hypothesis", each_call(method))
                    except Exception as exc:  # every method's failure is reported
                        failures.append(f"[{method.name}, {kind}] {exc}")
        legit.stop.set()
        background.join(120)
        assert not background.is_alive(), "the legitimate submitter is stuck"
        failures.extend(f"[legitimate submission] {f}" for f in legit.failures)
        failures.extend(_missing(server.grpc_target, reader, legit.receipts))
    if len(legit.receipts) < 2:
        failures.append("the legitimate submitter did not overlap the fuzzing")


def _missing(
    target: str, reader: OrgSigner, receipts: list[tuple[bytes, pb.Receipt]]
) -> Iterator[str]:
    """Every legitimate receipt's entry is in the log, byte for byte, at its seq."""
    with LedgerClient(target, reader) as client:
        for entry, receipt in receipts:
            record = client.get_entry(seq=receipt.seq)
            if record.entry != entry or record.leaf_hash != receipt.leaf_hash:
                yield f"[legitimate submission] seq {receipt.seq} does not hold its entry"


def test_every_grpc_method_answers_fuzzed_requests_with_documented_statuses(
    tmp_path: Path, db_url: str
) -> None:
    counts = fuzz_ledger(tmp_path, db_url, budget(25))
    # The fuzzer got past authentication and validation, not only to the first check.
    assert counts.get("Submit OK", 0) >= 1, counts
    assert counts.get("GetEntry OK", 0) >= 1, counts
    assert counts.get("Submit INVALID_ARGUMENT", 0) >= 1, counts


def test_undecodable_requests_are_invalid_argument_and_let_the_server_stop(
    tmp_path: Path, db_url: str
) -> None:
    """Found by the fuzzer: bytes that are not the method's message got INTERNAL with
    a traceback in the log, and after a SubmitStream whose first message was such
    bytes, stopping the server waited forever."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        signed = supplier.sign(cb.footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:x"))
        good = pb.SubmitRequest(
            entry=signed.entry, key_id=signed.key_id, signature=signed.signature
        ).SerializeToString()
        stream = SERVICE.methods_by_name["SubmitStream"]
        with grpc.insecure_channel(server.grpc_target) as channel:
            unary = call(channel, SERVICE.methods_by_name["GetEntry"], [b"\x12\x02\xff\xfe"], [])
            assert unary.code == C.INVALID_ARGUMENT, unary
            assert "GetEntryRequest" in unary.details, unary
            first = call(channel, stream, [good, b"\x0f", good], [])
            assert first.code == C.INVALID_ARGUMENT and "SubmitRequest" in first.details, first
            answers = [pb.SubmitStreamResponse.FromString(r) for r in first.responses]
            assert [a.WhichOneof("result") for a in answers] == ["receipt"]
            for _ in range(3):
                assert call(channel, stream, [b"\x0f"], []).code == C.INVALID_ARGUMENT
        again = supplier.sign(cb.footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:y"))
        assert client.submit(again).seq == answers[0].receipt.seq + 1
        stopping = threading.Thread(target=server.stop, name="stop")
        stopping.start()
        stopping.join(30)
        assert not stopping.is_alive(), "the server did not stop within 30 s"


def test_get_entry_by_an_id_no_entry_can_have_is_not_found(tmp_path: Path, db_url: str) -> None:
    """Found by the fuzzer: on PostgreSQL, GetEntry with a NUL in ``entry_id`` ended in
    UNKNOWN (the database cannot compare such a string)."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        client.signer = enroll(client, operator_of(server), AUDITOR, "auditor")
        for entry_id in ("\x00", "6f1c7c6e-1d2a-4b8e-9c3f-0a1b2c3d4e5f\x00", "not-an-id"):
            with pytest.raises(grpc.RpcError) as err:
                client.get_entry(entry_id=entry_id)
            assert err.value.code() == C.NOT_FOUND, (entry_id, err.value.details())


def test_an_integer_beyond_the_digit_limit_is_refused_alone(tmp_path: Path, db_url: str) -> None:
    """Found by the fuzzer: an entry with a 5,000-digit integer made ``json.loads`` raise
    ValueError (Python's digit limit), which failed the whole batch as UNAVAILABLE."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        supplier = enroll(client, operator_of(server), SUPPLIER, "supplier")
        valid = supplier.sign(cb.footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:x"))
        entry = cb.footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:y")
        poison = json.dumps({**entry, "n": 0}).replace('"n": 0', '"n": ' + "1" * 5_000).encode()
        results = list(
            client.submit_stream(
                [
                    SignedEntry(poison, supplier.key_id, supplier.private_key.sign(poison), "p"),
                    valid,
                ]
            )
        )
        refused = [r for r in results if isinstance(r, Rejected)]
        assert [r.entry_id for r in refused] == ["p"], results  # the valid one is recorded
        assert refused[0].code == C.INVALID_ARGUMENT and "digits" in str(refused[0]), refused


def test_stream_entries_beyond_the_signed_64_bit_range(tmp_path: Path, db_url: str) -> None:
    """Found by the fuzzer: StreamEntries with ``to_seq`` or ``from_seq`` of 2^63 or more
    ended in UNKNOWN (neither database stores such an integer); no record is there."""
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        client.signer = enroll(client, operator_of(server), AUDITOR, "auditor")
        size = server.store.tree_size()
        assert len(list(client.stream_entries(0, 2**64 - 1))) == size
        assert list(client.stream_entries(2**63, 2**64 - 1)) == []
        assert list(client.stream_entries(2**63 - 1, 2**64 - 1)) == []
