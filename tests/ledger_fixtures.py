"""Helpers for tests that run a real ledger server on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from sqlalchemy import create_engine, text

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.keys import encode_public_key, new_private_key
from ledger.sequencer import SequencerConfig
from ledger.server import LedgerServer, ServerConfig

SUPPLIER = "urn:pact:company:customcode:recycler-a"
AUDITOR = "urn:pact:company:customcode:auditor-x"
BUYER = "urn:pact:company:customcode:pack-maker"


@contextmanager
def running_server(
    data_dir: Path,
    db_url: str,
    *,
    workers: int = 1,
    max_entry_bytes: int = 256 * 1024,
    max_in_flight: int = 4096,
    witnesses: tuple[str, ...] = (),
    open_witnessing: bool = False,
    grpc_address: str = "127.0.0.1:0",
) -> Iterator[LedgerServer]:
    server = LedgerServer(
        ServerConfig(
            data_dir=data_dir,
            db_url=db_url,
            grpc_address=grpc_address,
            max_in_flight=max_in_flight,
            witnesses=witnesses,
            open_witnessing=open_witnessing,
            sequencer=SequencerConfig(verify_workers=workers, max_entry_bytes=max_entry_bytes),
        )
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def operator_of(server: LedgerServer) -> OrgSigner:
    return OrgSigner(server.config.operator_org, server.data_dir.operator_key())


def enroll(client: LedgerClient, operator: OrgSigner, org: str, *roles: str) -> OrgSigner:
    """Enrol ``org`` with a fresh key and return its signer."""
    signer = OrgSigner(org, new_private_key())
    client.submit(
        operator.sign(
            new_entry(
                "org.enroll",
                operator.org,
                orgId=org,
                name=org.rsplit(":", 1)[-1],
                roles=list(roles),
                publicKey=encode_public_key(signer.public_key),
            )
        )
    )
    return signer


def read_status(target: str, signer: OrgSigner) -> grpc.StatusCode:
    """How the ledger at ``target`` answers a read (entry 0) authenticated by ``signer``'s
    key: UNAUTHENTICATED when it does not take the key, else OK or NOT_FOUND."""
    with LedgerClient(target, signer, timeout=10.0) as client:
        try:
            client.get_entry(seq=0)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
    return grpc.StatusCode.OK


def rewrite_merkle_node(db_url: str, *, level: int, index: int) -> None:
    """What a database insider does to forge a proof: overwrite one stored Merkle node
    behind the ledger's back (exactly one row must change)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                text("UPDATE merkle_node SET hash = :h WHERE level = :level AND idx = :idx"),
                {"h": b"\x07" * 32, "level": level, "idx": index},
            ).rowcount
        assert changed == 1
    finally:
        engine.dispose()
