"""Helpers for witness tests: a log made in memory, and a witness served on loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from clients.witness.core import Witness
from clients.witness.server import create_witness_app
from clients.witness.state import WitnessStore
from gateway.server import HttpServer
from ledger.keys import new_private_key
from ledger.merkle import MerkleTree, leaf_hash
from ledger.note import Checkpoint, CosignatureSigner, NoteSigner, sign_checkpoint
from ledger.note.tlog_witness import AddCheckpointRequest
from ledger.server import LedgerServer, ServerConfig

T = TypeVar("T")


class MemoryLog:
    """A log of ``size`` made-up leaves, signed by ``signer``; ``salt`` makes a fork."""

    def __init__(self, signer: NoteSigner, size: int, salt: str = "") -> None:
        self.signer = signer
        self.tree = MerkleTree(
            leaf_hash(hashlib.sha256(f"{salt}{i}".encode()).digest()) for i in range(size)
        )

    def note(self, size: int) -> str:
        checkpoint = Checkpoint(self.signer.name, size, self.tree.root(size))
        return sign_checkpoint(checkpoint, self.signer)

    def request(self, old: int, size: int) -> AddCheckpointRequest:
        proof = self.tree.consistency_proof(old, size) if 0 < old < size else []
        return AddCheckpointRequest(old, tuple(proof), self.note(size))


def new_witness(state: Path, *logs: NoteSigner, name: str = "witness.example/w") -> Witness:
    signer = CosignatureSigner(name, new_private_key())
    return Witness(signer, [log.verifier() for log in logs], WitnessStore(state))


@contextmanager
def served_witness(witness: Witness, prefix: str = "") -> Iterator[str]:
    """``witness`` over HTTP on a loopback port; yields its submission prefix URL."""
    http = HttpServer(create_witness_app(witness, prefix), "127.0.0.1", 0)
    http.start()
    try:
        yield http.url + prefix
    finally:
        http.stop()


def post(client: httpx.Client, url: str, body: bytes | AddCheckpointRequest) -> httpx.Response:
    content = body.to_body() if isinstance(body, AddCheckpointRequest) else body
    return client.post(f"{url}/add-checkpoint", content=content)


def pushing_config(
    data_dir: Path, db_url: str, witnesses: tuple[str, ...], **more: Any
) -> ServerConfig:
    """A ledger that signs often and pushes to ``witnesses`` (``VKEY=URL``), retrying fast."""
    settings: dict[str, Any] = {
        "checkpoint_interval": 0.1,
        "witness_first_backoff": 0.05,
        "witness_max_backoff": 0.2,
        **more,
    }
    return ServerConfig(
        data_dir=data_dir,
        db_url=db_url,
        grpc_address="127.0.0.1:0",
        witnesses=witnesses,
        **settings,
    )


def witnesses_reach(
    server: LedgerServer, condition: Callable[[], T | None], what: str, timeout: float = 60.0
) -> T:
    """The first true value of ``condition``, checked at each change of a witness's status."""
    found = server.wait_for_witnesses(condition, timeout)
    assert found is not None, f"timed out waiting for {what}"
    return found
