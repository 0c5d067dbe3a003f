"""The gRPC ``carbonledger.v1.Ledger`` service over the sequencer and the store."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import NoReturn

import grpc

from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.checkpointer import Checkpointer
from ledger.committed_identity import CommittedIdentity
from ledger.errors import (
    ConflictError,
    CorruptIndexError,
    EntryRejectedError,
    EntryTooLargeError,
    IntegrityError,
    LedgerError,
    MalformedEntryError,
    PermissionDeniedError,
    QuotaExceededError,
    RevokedKeyError,
    SignatureError,
    UnknownKeyError,
    UnknownReferenceError,
    UnstorableEntryError,
)
from ledger.merkle import MerkleError
from ledger.read import VerifiedLog
from ledger.read.access import READ_ALL_ROLES, WHOLE_LOG_METADATA, Caller, entry_access_in, now_us
from ledger.read.grant_records import GrantRecords
from ledger.receipt import Receipt
from ledger.request_token import (
    METADATA_KEY,
    ReplayGuard,
    TokenClaims,
    TokenError,
    unverified_key_id,
    verify_token,
)
from ledger.sequencer import Sequencer, SequencerUnavailableError, Submission
from ledger.store.log import LogStore, StoredRecord

_STATUS: list[tuple[type[LedgerError], grpc.StatusCode]] = [
    (EntryTooLargeError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (QuotaExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (MalformedEntryError, grpc.StatusCode.INVALID_ARGUMENT),
    (SignatureError, grpc.StatusCode.UNAUTHENTICATED),
    (UnknownKeyError, grpc.StatusCode.UNAUTHENTICATED),
    (RevokedKeyError, grpc.StatusCode.PERMISSION_DENIED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (UnknownReferenceError, grpc.StatusCode.FAILED_PRECONDITION),
    (UnstorableEntryError, grpc.StatusCode.INVALID_ARGUMENT),
    (SequencerUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (IntegrityError, grpc.StatusCode.DATA_LOSS),
]
SERVICE_NAME = "carbonledger.v1.Ledger"
#: Entries per ``SubmitBatch`` message (the message itself is bounded by the server's
#: gRPC message limit, ``ledger.server.MAX_MESSAGE_BYTES``).
MAX_BATCH_ENTRIES = 1000


def status_for(error: LedgerError) -> grpc.StatusCode:
    for cls, code in _STATUS:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INVALID_ARGUMENT


def _receipt(receipt: Receipt) -> pb.Receipt:
    return pb.Receipt(
        entry_id=receipt.entry_id,
        seq=receipt.seq,
        leaf_hash=receipt.leaf_hash,
        chain_hash=receipt.chain_hash,
        timestamp_us=receipt.timestamp_us,
        duplicate=receipt.duplicate,
    )


def _entry_record(record: StoredRecord) -> pb.EntryRecord:
    return pb.EntryRecord(
        seq=record.seq,
        timestamp_us=record.timestamp_us,
        entry=record.entry,
        key_id=record.key_id,
        signature=record.signature,
        prev_chain_hash=record.prev_chain_hash,
        leaf_hash=record.leaf_hash,
        chain_hash=record.chain_hash,
    )


def _submission(request: pb.SubmitRequest) -> Submission:
    return Submission(request.entry, request.key_id, request.signature)


class LedgerService(pb_grpc.LedgerServicer):  # type: ignore[misc]
    def __init__(
        self,
        sequencer: Sequencer,
        identity: CommittedIdentity,
        store: LogStore,
        checkpointer: Checkpointer,
        *,
        verified: VerifiedLog | None = None,
        max_in_flight: int = 4096,
    ) -> None:
        self.sequencer = sequencer
        # Authentication and read rules see committed orgs and keys only.
        self.identity = identity
        self.store = store
        self.checkpointer = checkpointer
        # Entry reads serve only records the signed tree proves (DATA_LOSS otherwise).
        self.verified = verified or VerifiedLog(store, checkpointer)
        self._grants = GrantRecords(self.verified)
        self.max_in_flight = max_in_flight
        self._replay = ReplayGuard()

    # -- writes ---------------------------------------------------------------

    def Submit(self, request: pb.SubmitRequest, context: grpc.ServicerContext) -> pb.Receipt:
        try:
            return _receipt(self.sequencer.submit(_submission(request)).result())
        except LedgerError as exc:
            _abort(context, status_for(exc), str(exc))

    def SubmitStream(
        self, request_iterator: Iterator[pb.SubmitRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.SubmitStreamResponse]:
        """Entries in, receipts out as each batch commits.

        A reader thread feeds the sequencer while this generator answers; a
        client with more than ``max_in_flight`` unanswered entries is cut off
        with RESOURCE_EXHAUSTED instead of growing the server's memory.
        """
        done: queue.Queue[tuple[int, Future[Receipt]] | _StreamEnd] = queue.Queue()
        window = _InFlightWindow(self.max_in_flight)

        def read_requests() -> None:
            submitted = 0
            try:
                for request in request_iterator:
                    if not window.open_one():
                        done.put(_StreamEnd(submitted, overflow=True))
                        return
                    future = self.sequencer.submit(_submission(request))
                    future.add_done_callback(functools.partial(_deliver, done, submitted))
                    submitted += 1
            except grpc.RpcError:
                pass  # the client went away; what was submitted is still recorded
            done.put(_StreamEnd(submitted, overflow=False))

        threading.Thread(target=read_requests, name="submit-stream", daemon=True).start()
        answered = 0
        end: _StreamEnd | None = None
        while end is None or answered < end.submitted:
            item = done.get()
            if isinstance(item, _StreamEnd):
                if item.overflow:
                    _abort(
                        context,
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"more than {self.max_in_flight} entries in flight on one stream; "
                        "wait for receipts before sending more",
                    )
                end = item
                continue
            index, future = item
            window.close_one()
            answered += 1
            yield _stream_response(index, future)

    def SubmitBatch(
        self, request: pb.SubmitBatchRequest, context: grpc.ServicerContext
    ) -> pb.SubmitBatchResponse:
        """Every entry of the message queued at once, answered together in request order.

        One message instead of one per entry spares grpcio's per-message hand-off, which
        bounds per-entry streaming; the entries then travel the sequencer's pipeline as
        any others (own checks, group commit, receipt)."""
        if len(request.entries) > MAX_BATCH_ENTRIES:
            _abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{len(request.entries)} entries in one SubmitBatch; the limit is "
                f"{MAX_BATCH_ENTRIES} per message",
            )
        futures = [self.sequencer.submit(_submission(entry)) for entry in request.entries]
        for future in futures:
            future.exception()  # waits; the result or error is read below
        return pb.SubmitBatchResponse(
            results=[_stream_response(index, future) for index, future in enumerate(futures)]
        )

    # -- reads of entry contents (authenticated) ----------------------------

    def GetEntry(
        self, request: pb.GetEntryRequest, context: grpc.ServicerContext
    ) -> pb.EntryRecord:
        caller = self._authenticate(context, "GetEntry")
        which = request.WhichOneof("key")
        try:
            if which == "entry_id":
                record = self.verified.record_by_entry_id(request.entry_id)
            else:
                record = self.verified.record(request.seq)
            visible = record is not None and self._may_read(self._reader(caller), record)
        except IntegrityError as exc:
            _abort(context, grpc.StatusCode.DATA_LOSS, str(exc))
        if record is None or not visible:
            _abort(context, grpc.StatusCode.NOT_FOUND, "no such entry visible to the caller")
        return _entry_record(record)

    def StreamEntries(
        self, request: pb.StreamEntriesRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.EntryRecord]:
        caller = self._authenticate(context, "StreamEntries")
        reader = self._reader(caller)
        if WHOLE_LOG_METADATA in context.invocation_metadata() and not reader.reads_all:
            _abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"{caller.org} may not read the whole log: that needs the role "
                f"{' or '.join(sorted(READ_ALL_ROLES))}",
            )
        # To the log's end, or to the newest trusted checkpoint's if records below it
        # were deleted (the verified reads then refuse the first one missing).
        stop = request.to_seq or self.verified.size_at_least(self.store.tree_size())
        try:
            for record in self.verified.records(request.from_seq, stop):
                if self._may_read(reader, record):
                    yield _entry_record(record)
        except IntegrityError as exc:
            _abort(context, grpc.StatusCode.DATA_LOSS, str(exc))

    def _reader(self, claims: TokenClaims) -> Caller:
        return Caller(claims.org, self.identity.current().roles_of(claims.org))

    def _may_read(self, reader: Caller, record: StoredRecord) -> bool:
        """The one access policy (``ledger.read.access``), as HTTP applies it."""
        if reader.sees_all_of(record.org_id):
            return True
        try:
            with self.store.db.read() as conn:
                return entry_access_in(conn, reader, record, now_us(), self._grants)
        except CorruptIndexError as exc:
            self.verified.monitor.report(exc)
            raise

    def _authenticate(self, context: grpc.ServicerContext, method: str) -> TokenClaims:
        token = ""
        for key, value in context.invocation_metadata():
            if key == METADATA_KEY and isinstance(value, str) and value.startswith("Bearer "):
                token = value.removeprefix("Bearer ")
        if not token:
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "missing request token")
        try:
            kid = unverified_key_id(token)
            key = self.identity.current().keys.get(kid)
            if key is None or not key.active:
                raise TokenError("request token is signed by an unknown or ended key")
            claims = verify_token(token, key.public_key, f"/{SERVICE_NAME}/{method}", self._replay)
        except TokenError as exc:
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, str(exc))
        if claims.org != key.org_id:
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "token issuer does not own its key")
        # Checked after the signature, so only the key's holder learns its purpose.
        try:
            key.check_may_read()
        except PermissionDeniedError as exc:
            _abort(context, grpc.StatusCode.PERMISSION_DENIED, str(exc))
        return claims

    # -- public: checkpoints and proofs reveal hashes only ------------------

    def GetCheckpoint(
        self, request: pb.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.SignedCheckpoint:
        try:
            latest = self.checkpointer.latest()
            note = self.checkpointer.cosigned_note(latest.size) or latest.note
        except IntegrityError as exc:  # already alarmed; the store contradicts its checkpoint
            _abort(context, status_for(exc), str(exc))
        return pb.SignedCheckpoint(note=note, size=latest.size, root_hash=latest.root_hash)

    def AddCosignature(
        self, request: pb.AddCosignatureRequest, context: grpc.ServicerContext
    ) -> pb.AddCosignatureResponse:
        """Keep a witness's cosignature line; see ``ledger.cosignatures`` for what is checked."""
        try:
            self.checkpointer.cosignatures.add(request.size, request.signature_line, context.peer())
            note = self.checkpointer.cosigned_note(request.size)
        except LedgerError as exc:
            _abort(context, status_for(exc), str(exc))
        return pb.AddCosignatureResponse(note=note)

    def GetInclusionProof(
        self, request: pb.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> pb.InclusionProof:
        if request.WhichOneof("leaf") == "leaf_hash":
            index = self.store.seq_of_leaf(request.leaf_hash)
            if index is None:
                _abort(context, grpc.StatusCode.NOT_FOUND, "no record has this leaf hash")
        else:
            index = request.seq
        size = request.tree_size
        self._check_size(context, size)
        if index >= size:
            _abort(
                context,
                grpc.StatusCode.OUT_OF_RANGE,
                f"leaf {index} is not in a tree of size {size}",
            )
        try:
            proof = self.verified.leaf_inclusion_proof(index, size)
        except IntegrityError as exc:
            _abort(context, grpc.StatusCode.DATA_LOSS, str(exc))
        return pb.InclusionProof(leaf_index=index, tree_size=size, hashes=proof)

    def GetConsistencyProof(
        self, request: pb.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> pb.ConsistencyProof:
        self._check_size(context, request.second)
        if not 0 < request.first <= request.second:
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "consistency needs 0 < first <= second",
            )
        try:
            proof = self.verified.consistency_proof(request.first, request.second)
        except IntegrityError as exc:
            _abort(context, grpc.StatusCode.DATA_LOSS, str(exc))
        except MerkleError as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return pb.ConsistencyProof(first=request.first, second=request.second, hashes=proof)

    def _check_size(self, context: grpc.ServicerContext, size: int) -> None:
        current = self.store.tree_size()
        if size == 0 or size > current:
            _abort(
                context,
                grpc.StatusCode.OUT_OF_RANGE,
                f"tree_size must be between 1 and the current size {current}, got {size}",
            )


def _deliver(
    done: queue.Queue[tuple[int, Future[Receipt]] | _StreamEnd], index: int, future: Future[Receipt]
) -> None:
    done.put((index, future))


class _StreamEnd:
    def __init__(self, submitted: int, *, overflow: bool) -> None:
        self.submitted = submitted
        self.overflow = overflow


class _InFlightWindow:
    """Counts a stream's unanswered entries against its limit."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open = 0
        self._lock = threading.Lock()

    def open_one(self) -> bool:
        with self._lock:
            if self._open >= self._limit:
                return False
            self._open += 1
            return True

    def close_one(self) -> None:
        with self._lock:
            self._open -= 1


def _stream_response(index: int, future: Future[Receipt]) -> pb.SubmitStreamResponse:
    error = future.exception()
    if error is None:
        return pb.SubmitStreamResponse(index=index, receipt=_receipt(future.result()))
    if isinstance(error, LedgerError):
        field = error.field if isinstance(error, EntryRejectedError) else ""
        return pb.SubmitStreamResponse(
            index=index,
            rejection=pb.Rejection(
                code=status_for(error).value[0], message=str(error), field=field
            ),
        )
    raise error


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable: context.abort raises")
