"""Witness slots cannot be filled by strangers (issue 14, finding 6): without a
configured witness list, cosignatures of unknown keys are refused; an explicitly
open ledger keeps them within quotas that leave room for everyone else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from click.testing import CliRunner

from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.cosignatures import MAX_COSIGNATURES, SLOTS_PER_NETWORK
from ledger.keys import new_private_key
from ledger.note import CosignatureSigner, open_checkpoint
from ledger.server import LedgerServer
from tests.ledger_fixtures import running_server

Answer = tuple[grpc.StatusCode, str]


@contextmanager
def _cosigner(target: str, server: LedgerServer) -> Iterator[tuple[str, Callable[[str], Answer]]]:
    """(the checkpoint body, add(line) -> (status, detail)) over a channel to ``target``."""
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.LedgerStub(channel)
        size = stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=30).size
        body = open_checkpoint(server.checkpointer.latest().note, server.signer.verifier())

        def add(line: str) -> Answer:
            try:
                stub.AddCosignature(
                    pb.AddCosignatureRequest(size=size, signature_line=line), timeout=30
                )
            except grpc.RpcError as exc:
                return exc.code(), exc.details() or ""
            return grpc.StatusCode.OK, ""

        yield body.to_text(), add


def _note(server: LedgerServer) -> str:
    with grpc.insecure_channel(server.grpc_target) as channel:
        note: str = pb_grpc.LedgerStub(channel).GetCheckpoint(pb.GetCheckpointRequest()).note
    return note


def test_without_configured_witnesses_no_stranger_takes_a_slot(tmp_path: Path, db_url: str) -> None:
    """The attack of the issue: an anonymous client sends 32 well-formed lines of
    fresh keys. All are refused, naming the key and how to configure witnesses."""
    with running_server(tmp_path, db_url) as server:
        with _cosigner(server.grpc_target, server) as (body, add):
            for i in range(MAX_COSIGNATURES):
                stranger = CosignatureSigner(f"stranger{i}.example", new_private_key())
                code, detail = add(stranger.cosign(body, 5))
                assert code is grpc.StatusCode.PERMISSION_DENIED, (code, detail)
                assert f"stranger{i}.example" in detail and "--witness" in detail
        assert _note(server).count("\n— ") == 1  # the ledger's own signature only


def test_open_witnessing_leaves_room_for_configured_and_other_witnesses(
    tmp_path: Path, db_url: str
) -> None:
    """Open witnessing, one configured witness among reserved slots: one network
    adds at most SLOTS_PER_NETWORK keys, unconfigured keys never take the
    configured witnesses' slots, and the real witness still cosigns."""
    witness = CosignatureSigner("witness.example", new_private_key())
    # Enough configured witnesses that unconfigured keys have 6 slots: more than one
    # network's quota, fewer than the two loopback networks' (IPv4 and IPv6).
    others = [CosignatureSigner(f"agreed{i}", new_private_key()) for i in range(25)]
    configured = (witness.vkey, *(o.vkey for o in others))
    room = MAX_COSIGNATURES - len(configured)
    assert SLOTS_PER_NETWORK < room < 2 * SLOTS_PER_NETWORK
    with running_server(
        tmp_path,
        db_url,
        witnesses=configured,
        open_witnessing=True,
        grpc_address="localhost:0",  # IPv4 and IPv6 loopback: two networks
    ) as server:
        v4, v6 = f"127.0.0.1:{server.port}", f"[::1]:{server.port}"
        with _cosigner(v4, server) as (body, add):
            mine = [CosignatureSigner(f"v4-{i}", new_private_key()) for i in range(8)]
            for signer in mine[:SLOTS_PER_NETWORK]:
                assert add(signer.cosign(body, 5)) == (grpc.StatusCode.OK, "")
            code, detail = add(mine[SLOTS_PER_NETWORK].cosign(body, 5))
            assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, (code, detail)
            assert "127.0.0.1" in detail and "--witness" in detail
            # A key that has its slot may replace its line: no new slot.
            assert add(mine[0].cosign(body, 6)) == (grpc.StatusCode.OK, "")
        with _cosigner(v6, server) as (body, add):
            strangers = [CosignatureSigner(f"v6-{i}", new_private_key()) for i in range(4)]
            for signer in strangers[: room - SLOTS_PER_NETWORK]:
                assert add(signer.cosign(body, 5)) == (grpc.StatusCode.OK, "")
            code, detail = add(strangers[room - SLOTS_PER_NETWORK].cosign(body, 5))
            assert code is grpc.StatusCode.ALREADY_EXISTS
            assert f"{room} cosignatures of unconfigured keys" in detail
            # The configured witness still has its slot, verified.
            assert add(witness.cosign(body, 7)) == (grpc.StatusCode.OK, "")
        note = _note(server)
        assert note.count("\n— ") == 1 + room + 1 and note.endswith(witness.cosign(body, 7))


def test_serve_has_an_open_witnessing_option() -> None:
    from clients.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "--open-witnessing" in result.output
