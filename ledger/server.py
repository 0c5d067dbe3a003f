"""Assembling a running ledger: store, sequencer, checkpointer, gRPC server.

On first start over an empty log the server records the genesis entry (the
operator's self-signed enrolment) so the log's trust root is the log itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.canonical import canonicalize
from ledger.checkpointer import Checkpointer
from ledger.committed_identity import CommittedIdentity
from ledger.cosignatures import Cosignatures
from ledger.datadir import DEFAULT_DATA_DIR, DEFAULT_OPERATOR_ORG, DEFAULT_ORIGIN, DataDir
from ledger.errors import ConflictError, IntegrityError
from ledger.keys import encode_public_key, key_id, public_key_bytes
from ledger.note import NoteSigner
from ledger.read import VerifiedLog
from ledger.record_signatures import RecordSignatures
from ledger.request_decoding import DecodingInterceptor
from ledger.sequencer import Sequencer, SequencerConfig, Submission
from ledger.service import SERVICE_NAME, LedgerService
from ledger.store.database import Database
from ledger.store.log import LogStore
from ledger.witness_pusher import WitnessEndpoint, WitnessPusher, WitnessStatus

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class AddressUnavailableError(OSError):
    """The gRPC address cannot be listened on (in use, not local, not permitted)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address
        self.reason = reason


@dataclass
class ServerConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    grpc_address: str = "127.0.0.1:50051"
    origin: str = DEFAULT_ORIGIN
    operator_org: str = DEFAULT_OPERATOR_ORG
    checkpoint_interval: float = 1.0
    max_in_flight: int = 4096
    # The witnesses whose cosignatures are accepted and verified: C2SP vkeys, each
    # optionally ``=URL``, its tlog-witness submission prefix, to push checkpoints to.
    witnesses: tuple[str, ...] = ()
    # Pushing to a witness that refused or did not answer: first retry after this many
    # seconds, doubling up to the maximum.
    witness_first_backoff: float = 1.0
    witness_max_backoff: float = 300.0
    # One request to a witness and its whole answer must finish within this many seconds.
    witness_deadline: float = 15.0
    # Also keep well-formed cosignatures of other keys, unverified, within per-address
    # quotas (test setups; see ledger.cosignatures). Off: other keys are refused.
    open_witnessing: bool = False
    sequencer: SequencerConfig = field(default_factory=SequencerConfig)


class LedgerServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.data_dir = DataDir(config.data_dir)
        self.data_dir.ensure()
        self.db = Database(config.db_url or self.data_dir.default_db_url())
        self.store = LogStore(self.db)
        # The orgs and keys every reader here uses: committed, and following other
        # processes' entries (``ledger.committed_identity``).
        self.identity = CommittedIdentity(self.store)
        self.signer = NoteSigner(config.origin, self.data_dir.ledger_key())
        witnesses = [WitnessEndpoint.parse(value) for value in config.witnesses]
        cosignatures = Cosignatures(
            self.store,
            [witness.key for witness in witnesses],
            open_witnessing=config.open_witnessing,
        )
        # What the sequencer committed, so that the checkpointer verifies only the others.
        signatures = RecordSignatures(self.identity)
        self.checkpointer = Checkpointer(
            self.store, self.signer, cosignatures=cosignatures, signatures=signatures
        )
        self.sequencer = Sequencer(
            self.store,
            self.identity,
            config.sequencer,
            monitor=self.checkpointer.monitor,
            signatures=signatures,
        )
        # Shared with a gateway in this process (``GatewayContext.from_server``): one cache
        # of proven records, one integrity state for both health endpoints.
        self.verified = VerifiedLog(self.store, self.checkpointer)
        self.service = LedgerService(
            self.sequencer,
            self.identity,
            self.store,
            self.checkpointer,
            verified=self.verified,
            max_in_flight=config.max_in_flight,
        )
        self._executor = futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="ledger-rpc")
        self._grpc = grpc.server(
            self._executor,
            interceptors=[DecodingInterceptor()],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # grpcio sets SO_REUSEPORT by default: a second ledger on the same port
                # would start too, and the kernel would share connections between the two.
                ("grpc.so_reuseport", 0),
            ],
        )
        pb_grpc.add_LedgerServicer_to_server(self.service, self._grpc)
        self._health = health.HealthServicer()
        self.verified.monitor.on_failure(self._integrity_failed)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)
        reflection.enable_server_reflection(
            (
                pb.DESCRIPTOR.services_by_name["Ledger"].full_name,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            self._grpc,
        )
        self._stopping = threading.Event()
        self._refresher = threading.Thread(
            target=self._refresh_checkpoints, name="checkpointer", daemon=True
        )
        self._witness_changed = threading.Condition()
        self._pushers = [
            WitnessPusher(
                witness,
                self.store,
                self.verified.consistency_proof,
                interval=config.checkpoint_interval,
                first_backoff=config.witness_first_backoff,
                max_backoff=config.witness_max_backoff,
                deadline=config.witness_deadline,
                changed=self._witness_changed,
            )
            for witness in witnesses
            if witness.url is not None
        ]
        self.port = 0

    @property
    def vkey(self) -> str:
        return self.signer.vkey

    @property
    def grpc_target(self) -> str:
        host = self.config.grpc_address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def start(self) -> None:
        """Listen on the gRPC address, then start; nothing is started when the address is
        unavailable (``AddressUnavailableError``), when the store's checkpoints are
        another ledger key's (``ForeignCheckpointError``) or when its tree does not extend
        them (``InconsistentCheckpointError``)."""
        self.checkpointer.check_store()
        self.port = self._listen(self.config.grpc_address)
        self.identity.start()
        self.sequencer.start()
        self._record_genesis()
        self.checkpointer.latest()
        self._grpc.start()
        if not self.verified.monitor.failing:
            self._health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
            self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._refresher.start()
        for pusher in self._pushers:
            pusher.start()

    def witness_status(self) -> list[WitnessStatus]:
        """How pushing to each witness with a URL goes (``/healthz`` shows it)."""
        return [pusher.status for pusher in self._pushers]

    def wait_for_witnesses(self, condition: Callable[[], T | None], timeout: float) -> T | None:
        """The first true value of ``condition``, evaluated now and after each change of a
        witness's status (a cosignature stored, a push failed), or None after ``timeout``
        seconds: a supervisor or a test waits on the pushers instead of polling them."""
        found: list[T] = []

        def holds() -> bool:
            value = condition()
            if value is None or value is False:
                return False
            found.append(value)
            return True

        with self._witness_changed:
            self._witness_changed.wait_for(holds, timeout)
        return found[-1] if found else None

    def stop(self, grace: float = 2.0) -> None:
        self._stopping.set()
        for pusher in self._pushers:  # each abandons its request in flight
            pusher.request_stop()
        self._health.enter_graceful_shutdown()
        self._grpc.stop(grace).wait()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.sequencer.stop()
        self.identity.stop()
        if self._refresher.is_alive():
            self._refresher.join()
        for pusher in self._pushers:
            pusher.stop()
        self.db.dispose()

    def _integrity_failed(self, _error: IntegrityError) -> None:
        """A stored record failed verification: the ledger no longer reports itself healthy
        (it keeps answering everything that still verifies)."""
        for service in (SERVICE_NAME, ""):
            self._health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)

    def _listen(self, address: str) -> int:
        check_can_listen(address)
        try:
            port = int(self._grpc.add_insecure_port(address))
        except RuntimeError:  # grpcio >= 1.49 raises; older versions return 0
            port = 0
        if port == 0:
            raise AddressUnavailableError(address, "address in use or not available")
        return port

    def wait(self) -> None:
        self._grpc.wait_for_termination()

    def _record_genesis(self) -> None:
        if self.store.tree_size() > 0:
            return
        operator = self.data_dir.operator_key()
        public = public_key_bytes(operator)
        entry = canonicalize(
            {
                "type": "org.enroll",
                "entryId": str(uuid.uuid4()),
                "org": self.config.operator_org,
                "orgId": self.config.operator_org,
                "name": "Ledger operator",
                "roles": ["operator"],
                "publicKey": encode_public_key(public),
            }
        )
        submission = Submission(entry, key_id(public), operator.sign(entry))
        # Another process sharing the database may have recorded the genesis first.
        with contextlib.suppress(ConflictError):
            self.sequencer.submit(submission).result()

    def _refresh_checkpoints(self) -> None:
        """Sign what the log holds every interval, for as long as the server runs: a tree
        the checkpointer refuses (already alarmed, health says so) or a database that
        does not answer this time is tried again at the next interval, never given up."""
        while not self._stopping.wait(self.config.checkpoint_interval):
            try:
                self.checkpointer.latest()
            except IntegrityError:
                continue
            except Exception as exc:  # e.g. a database that did not answer this time
                log.warning("signing a checkpoint failed; retrying: %s", exc)
                continue
            for pusher in self._pushers:
                pusher.wake()


def check_can_listen(address: str) -> None:
    """Bind ``HOST:PORT`` with a plain socket and let it go, or raise
    ``AddressUnavailableError``: a port another process listens on is refused here,
    quietly and before anything is created, instead of by grpcio, which logs its own
    complaint about the bind. (A race with another process is still caught by the
    real bind, which does not share the port.) Port 0 and other forms are not checked."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return
    host = host.removeprefix("[").removesuffix("]")
    try:
        found = socket.getaddrinfo(
            host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise AddressUnavailableError(address, _reason(exc)) from None
    for family, _, _, _, sockaddr in found:
        try:
            # create_server sets SO_REUSEADDR, as grpcio does: a port left in TIME_WAIT
            # by a previous run is free, one with a listener is not.
            socket.create_server(sockaddr, family=family).close()
        except OSError as exc:
            raise AddressUnavailableError(address, _reason(exc)) from None


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)
