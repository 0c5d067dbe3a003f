"""A typed gRPC client of the ledger."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from types import TracebackType

import grpc

from clients.sdk.entries import SignedEntry
from clients.sdk.signer import OrgSigner
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.receipt import Receipt
from ledger.request_token import METADATA_KEY
from ledger.service import SERVICE_NAME

# gRPC's own retry machinery re-sends unary calls that failed as UNAVAILABLE;
# idempotent because every entry carries its entryId.
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": SERVICE_NAME}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class Rejected(Exception):
    """The ledger refused an entry; nothing of it was recorded."""

    def __init__(self, code: grpc.StatusCode, message: str, entry_id: str = "", field: str = ""):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.entry_id = entry_id
        self.field = field


def _receipt(msg: pb.Receipt) -> Receipt:
    return Receipt(
        msg.entry_id, msg.seq, msg.leaf_hash, msg.chain_hash, msg.timestamp_us, msg.duplicate
    )


def _request(entry: SignedEntry) -> pb.SubmitRequest:
    return pb.SubmitRequest(entry=entry.entry, key_id=entry.key_id, signature=entry.signature)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


class LedgerClient:
    """One channel to a ledger. ``signer`` is needed only for authenticated reads."""

    def __init__(
        self,
        target: str,
        signer: OrgSigner | None = None,
        *,
        timeout: float = 60.0,
        window: int = 1024,
        stream_retries: int = 5,
        stream_timeout: float | None = None,
    ) -> None:
        self.signer = signer
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self.window = window
        self.stream_retries = stream_retries
        self._channel = grpc.insecure_channel(
            target,
            options=[("grpc.enable_retries", 1), ("grpc.service_config", _SERVICE_CONFIG)],
        )
        self._stub = pb_grpc.LedgerStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- submitting ---------------------------------------------------------

    def submit(self, entry: SignedEntry) -> Receipt:
        try:
            return _receipt(self._stub.Submit(_request(entry), timeout=self.timeout))
        except grpc.RpcError as exc:
            raise Rejected(exc.code(), exc.details() or "", entry.entry_id) from None

    def submit_stream(self, entries: Iterable[SignedEntry]) -> Iterator[Receipt | Rejected]:
        """Submit over one stream, at most ``window`` unanswered at a time.

        Yields one result per entry, in completion order. If the stream breaks
        (server restart), the unanswered entries are sent again on a new
        stream: the ledger answers those it had already recorded with their
        original receipts, so nothing is recorded twice.
        """
        source = iter(entries)
        unanswered: dict[int, SignedEntry] = {}
        resend: list[SignedEntry] = []
        attempts = 0
        while True:
            try:
                for result in self._one_stream(source, resend, unanswered):
                    attempts = 0
                    yield result
                return
            except grpc.RpcError as exc:
                retryable = exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
                attempts += 1
                if not retryable or attempts > self.stream_retries:
                    raise
                resend = list(unanswered.values())
                unanswered.clear()

    def _one_stream(
        self,
        source: Iterator[SignedEntry],
        resend: list[SignedEntry],
        unanswered: dict[int, SignedEntry],
    ) -> Iterator[Receipt | Rejected]:
        slots = threading.Semaphore(self.window)
        lock = threading.Lock()
        closed = threading.Event()

        def requests() -> Iterator[pb.SubmitRequest]:
            for index, entry in enumerate(_chain(resend, source)):
                # Owned by this stream from now on: resent if the stream breaks unanswered.
                with lock:
                    unanswered[index] = entry
                slots.acquire()
                if closed.is_set():
                    return
                yield _request(entry)

        call = self._stub.SubmitStream(requests(), timeout=self.stream_timeout)
        try:
            for response in call:
                with lock:
                    entry = unanswered.pop(response.index)
                slots.release()
                yield _result(response, entry)
        finally:
            # Wake a request generator blocked on the window so its thread ends too.
            closed.set()
            slots.release()
            call.cancel()

    def submit_batches(
        self, entries: Iterable[SignedEntry], *, batch_size: int = 500, in_flight: int = 4
    ) -> Iterator[Receipt | Rejected]:
        """Submit ``batch_size`` entries per ``SubmitBatch`` message, ``in_flight`` messages
        at a time; one result per entry, in the order of ``entries``.

        The bulk path for uploads: one message per batch spares the per-message cost
        that bounds ``submit_stream``. A message that fails as UNAVAILABLE is sent again
        by gRPC's retry policy; entries already recorded are answered with their original
        receipts, so nothing is recorded twice. ``batch_size`` is at most 1,000 and a
        message at most 4 MiB (the server answers RESOURCE_EXHAUSTED beyond)."""
        pending: deque[tuple[list[SignedEntry], Future[pb.SubmitBatchResponse]]] = deque()
        with ThreadPoolExecutor(in_flight, thread_name_prefix="submit-batch") as pool:
            for batch in _batches(entries, batch_size):
                if len(pending) == in_flight:
                    yield from _results(*pending.popleft())
                request = pb.SubmitBatchRequest(entries=[_request(e) for e in batch])
                pending.append((batch, pool.submit(self._send_batch, request)))
            while pending:
                yield from _results(*pending.popleft())

    def _send_batch(self, request: pb.SubmitBatchRequest) -> pb.SubmitBatchResponse:
        reply: pb.SubmitBatchResponse = self._stub.SubmitBatch(request, timeout=self.timeout)
        return reply

    # -- public reads -------------------------------------------------------

    def checkpoint(self) -> pb.SignedCheckpoint:
        reply: pb.SignedCheckpoint = self._stub.GetCheckpoint(
            pb.GetCheckpointRequest(), timeout=self.timeout
        )
        return reply

    def inclusion_proof(self, seq: int, tree_size: int) -> list[bytes]:
        request = pb.GetInclusionProofRequest(seq=seq, tree_size=tree_size)
        return list(self._stub.GetInclusionProof(request, timeout=self.timeout).hashes)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        request = pb.GetConsistencyProofRequest(first=first, second=second)
        return list(self._stub.GetConsistencyProof(request, timeout=self.timeout).hashes)

    # -- authenticated reads ------------------------------------------------

    def get_entry(self, seq: int | None = None, entry_id: str | None = None) -> pb.EntryRecord:
        request = pb.GetEntryRequest(entry_id=entry_id) if entry_id else pb.GetEntryRequest(seq=seq)
        reply: pb.EntryRecord = self._stub.GetEntry(
            request, timeout=self.timeout, metadata=self._auth("GetEntry")
        )
        return reply

    def stream_entries(self, from_seq: int = 0, to_seq: int = 0) -> Iterator[pb.EntryRecord]:
        request = pb.StreamEntriesRequest(from_seq=from_seq, to_seq=to_seq)
        yield from self._stub.StreamEntries(request, metadata=self._auth("StreamEntries"))

    def _auth(self, method: str) -> list[tuple[str, str]]:
        if self.signer is None:
            raise ValueError("this read needs a LedgerClient with a signer")
        token = self.signer.request_token(f"/{SERVICE_NAME}/{method}")
        return [(METADATA_KEY, f"Bearer {token}")]


def _chain(first: list[SignedEntry], rest: Iterator[SignedEntry]) -> Iterator[SignedEntry]:
    yield from first
    yield from rest


def _result(response: pb.SubmitStreamResponse, entry: SignedEntry) -> Receipt | Rejected:
    if response.WhichOneof("result") == "receipt":
        return _receipt(response.receipt)
    rejection = response.rejection
    code = _CODES.get(rejection.code, grpc.StatusCode.UNKNOWN)
    return Rejected(code, rejection.message, entry.entry_id, rejection.field)


def _results(
    batch: list[SignedEntry], reply: Future[pb.SubmitBatchResponse]
) -> Iterator[Receipt | Rejected]:
    """The batch's results in its order; a failed message raises ``Rejected`` for it."""
    try:
        responses = reply.result().results
    except grpc.RpcError as exc:
        raise Rejected(exc.code(), exc.details() or "", batch[0].entry_id) from None
    for response in responses:
        yield _result(response, batch[response.index])


def _batches(entries: Iterable[SignedEntry], size: int) -> Iterator[list[SignedEntry]]:
    if not 1 <= size <= 1000:
        raise ValueError("batch_size must be between 1 and 1000")
    source = iter(entries)
    while batch := list(islice(source, size)):
        yield batch
