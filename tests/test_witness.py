"""Witnesses: cosigning consistent checkpoints, refusing inconsistent ones, and the
ledger serving checkpoints with the cosignatures it received (the gRPC pull path,
``carbonledger witness pull``; the HTTP path is in tests/test_witness_server.py)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from clients.audit.rpc import LedgerRpc
from clients.sdk import LedgerClient
from clients.witness.core import (
    MalformedRequestError,
    OldSizeMismatchError,
    UntrustedCheckpointError,
    Witness,
)
from clients.witness.pull import pull_once
from clients.witness.state import CosignedCheckpoint, WitnessStore
from clients.witness_cli import witness
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.cosignatures import MAX_COSIGNATURES
from ledger.keys import new_private_key, save_private_key
from ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteVerifier,
    open_checkpoint,
    open_note,
    verify_cosignature,
)
from ledger.note.tlog_witness import AddCheckpointRequest
from tests.ledger_fixtures import enroll, operator_of, running_server


def org(i: int) -> str:
    return f"urn:pact:company:customcode:w{i}"


def test_witness_cosigns_and_the_ledger_serves_the_cosignature(tmp_path: Path, db_url: str) -> None:
    signer = CosignatureSigner("witness.example", new_private_key())
    with (
        running_server(tmp_path / "data", db_url, witnesses=(signer.vkey,)) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        ledger_key = NoteVerifier.from_vkey(server.vkey)
        store = WitnessStore(tmp_path / "wstate")
        rpc = LedgerRpc(server.grpc_target)
        enroll(client, operator_of(server), org(0), "buyer")
        note = rpc.checkpoint_note()
        first = pull_once(rpc, Witness(signer, [ledger_key], store, clock=lambda: 1000))
        assert first.previous_size == 0
        served = client.checkpoint().note
        [line] = [x for x in served.splitlines(keepends=True) if x.startswith("— witness.")]
        assert served.startswith(note) and served.endswith(line)
        # Verifiers that pin the witness key check both signatures; others ignore it.
        opened = open_note(served, [ledger_key, signer.verifier()])
        assert len(opened.verified_signatures) == 2
        checkpoint = open_checkpoint(served, ledger_key)
        assert checkpoint.size == first.size
        assert verify_cosignature(opened.text, line, signer.verifier()) == 1000

        # The log grows: the witness proves consistency from what it saw and cosigns again.
        for i in range(1, 4):
            enroll(client, operator_of(server), org(i), "buyer")
        again = pull_once(rpc, Witness(signer, [ledger_key], store, clock=lambda: 2000))
        assert again.previous_size == first.size
        assert again.size == first.size + 3
        # A newer cosignature by the same key replaces the older one for that size.
        grown = open_checkpoint(rpc.checkpoint_note(), ledger_key)
        newer = signer.cosign(grown.to_text(), 3000)
        rpc.add_cosignature(again.size, newer)
        served = client.checkpoint().note
        assert served.count("— witness.example ") == 1 and served.endswith(newer)
        rpc.close()


def test_witness_refuses_a_rewritten_history_and_keeps_its_state(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "witness.key"
    key = new_private_key()
    save_private_key(key, key_file)
    configured = (CosignatureSigner("witness", key).vkey,)  # `carbonledger witness` default name
    state = tmp_path / "wstate"
    runner = CliRunner()
    with (
        running_server(tmp_path / "data", db_url, witnesses=configured) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        for i in range(5):
            enroll(client, operator_of(server), org(i), "buyer")
        args = [
            *("pull", "--ledger", server.grpc_target, "--ledger-key", server.vkey),
            *("--key", str(key_file), "--state", str(state)),
        ]
        ok = runner.invoke(witness, args)
        assert ok.exit_code == 0, ok.output
        assert "cosigned size 6" in ok.output
        vkey = server.vkey
        origin = server.signer.name
    saved = WitnessStore(state).latest(origin)
    assert saved is not None and saved.size == 6

    # An insider truncates the log to 3 records and appends different ones.
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM record WHERE seq >= 3"))
        conn.execute(text("DELETE FROM checkpoint WHERE size > 3"))
        for level, idx in conn.execute(text("SELECT level, idx FROM merkle_node")).all():
            if (idx + 1) << level > 3:
                conn.execute(
                    text("DELETE FROM merkle_node WHERE level=:l AND idx=:i"),
                    {"l": level, "i": idx},
                )
    engine.dispose()
    with (
        running_server(tmp_path / "data", db_url, witnesses=configured) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        for i in range(10, 15):
            enroll(client, operator_of(server), org(i), "buyer")
        assert client.checkpoint().size == 8
        refused = runner.invoke(
            witness,
            [
                *("pull", "--ledger", server.grpc_target, "--ledger-key", vkey),
                *("--key", str(key_file), "--state", str(state)),
            ],
        )
        assert refused.exit_code == 1
        assert "REFUSED" in refused.output
        assert "from size 6 to 8 does not verify" in refused.output
        assert "— witness " not in client.checkpoint().note
    assert WitnessStore(state).latest(origin) == saved


def test_witness_refuses_rollback_and_foreign_key(tmp_path: Path) -> None:
    from ledger.store.database import sqlite_url

    signer = CosignatureSigner("w", new_private_key())
    with running_server(tmp_path, sqlite_url(tmp_path)) as server:
        rpc = LedgerRpc(server.grpc_target)
        note = rpc.checkpoint_note()
        key = NoteVerifier.from_vkey(server.vkey)
        store = WitnessStore(tmp_path / "s")
        size = open_checkpoint(note, key).size
        with store.update(key.name) as (_, save):  # it cosigned a larger tree before
            save(CosignedCheckpoint(size + 5, bytes(32), note))
        with pytest.raises(MalformedRequestError, match="exceeds the checkpoint's size"):
            pull_once(rpc, Witness(signer, [key], store))
        with pytest.raises(OldSizeMismatchError):
            Witness(signer, [key], store).add_checkpoint(AddCheckpointRequest(0, (), note))
        other = NoteVerifier(server.signer.name, new_private_key().public_key())
        with pytest.raises(UntrustedCheckpointError, match="no signature by a key trusted"):
            pull_once(rpc, Witness(signer, [other], WitnessStore(tmp_path / "fresh")))
        stored = store.latest(key.name)
        assert stored is not None and stored.size == size + 5
        rpc.close()


def test_ledger_checks_cosignature_lines(tmp_path: Path) -> None:
    from ledger.store.database import sqlite_url

    # One more configured witness than a checkpoint has slots.
    signers = [CosignatureSigner(f"w{i}", new_private_key()) for i in range(MAX_COSIGNATURES + 1)]
    configured = tuple(signer.vkey for signer in signers)
    with running_server(tmp_path, sqlite_url(tmp_path), witnesses=configured) as server:
        channel = grpc.insecure_channel(server.grpc_target)
        stub = pb_grpc.LedgerStub(channel)
        size = stub.GetCheckpoint(pb.GetCheckpointRequest()).size
        text_ = open_checkpoint(server.checkpointer.latest().note, server.signer.verifier())

        def add(line: str, at: int = size) -> grpc.StatusCode | None:
            try:
                stub.AddCosignature(pb.AddCosignatureRequest(size=at, signature_line=line))
            except grpc.RpcError as exc:
                return exc.code()
            return None

        good = signers[0].cosign(text_.to_text(), 5)
        assert add("not a signature line") is grpc.StatusCode.INVALID_ARGUMENT
        plain = server.signer.sign(text_.to_text()).to_line()  # a plain note signature
        assert add(plain) is grpc.StatusCode.INVALID_ARGUMENT
        assert add(good, size + 7) is grpc.StatusCode.FAILED_PRECONDITION
        assert add(good) is None
        for signer in signers[1:MAX_COSIGNATURES]:
            assert add(signer.cosign(text_.to_text(), 5)) is None
        extra = signers[MAX_COSIGNATURES].cosign(text_.to_text(), 5)
        assert add(extra) is grpc.StatusCode.ALREADY_EXISTS
        note = stub.GetCheckpoint(pb.GetCheckpointRequest()).note
        assert note.count("\n— ") == MAX_COSIGNATURES + 1
        opened = open_note(note, [server.signer.verifier(), *(s.verifier() for s in signers)])
        assert len(opened.verified_signatures) == MAX_COSIGNATURES + 1
        assert server.checkpointer.latest_note() == note
        channel.close()


def test_a_ledger_with_configured_witnesses_verifies_their_cosignatures(tmp_path: Path) -> None:
    from ledger.store.database import sqlite_url

    trusted = CosignatureSigner("witness.example", new_private_key())
    with running_server(tmp_path, sqlite_url(tmp_path), witnesses=(trusted.vkey,)) as server:
        channel = grpc.insecure_channel(server.grpc_target)
        stub = pb_grpc.LedgerStub(channel)
        size = stub.GetCheckpoint(pb.GetCheckpointRequest()).size
        body = open_checkpoint(server.checkpointer.latest().note, server.signer.verifier())

        def add(line: str) -> tuple[grpc.StatusCode | None, str]:
            try:
                stub.AddCosignature(pb.AddCosignatureRequest(size=size, signature_line=line))
            except grpc.RpcError as exc:
                return exc.code(), exc.details() or ""
            return None, ""

        stranger = CosignatureSigner("stranger.example", new_private_key())
        code, detail = add(stranger.cosign(body.to_text(), 5))
        assert code is grpc.StatusCode.PERMISSION_DENIED
        assert "stranger.example" in detail and "not a witness" in detail
        # The trusted key's name and ID, but a signature over another checkpoint.
        other = Checkpoint(body.origin, body.size + 1, bytes(32))
        code, detail = add(trusted.cosign(other.to_text(), 5))
        assert code is grpc.StatusCode.UNAUTHENTICATED and "does not verify" in detail
        # Neither line was kept: the note carries the ledger's own signature only.
        assert stub.GetCheckpoint(pb.GetCheckpointRequest()).note.count("\n— ") == 1

        good = trusted.cosign(body.to_text(), 7)
        assert add(good) == (None, "")
        note = stub.GetCheckpoint(pb.GetCheckpointRequest()).note
        assert note.endswith(good)
        assert (
            len(open_note(note, [server.signer.verifier(), trusted.verifier()]).verified_signatures)
            == 2
        )
        channel.close()


def test_serve_refuses_a_malformed_witness_key(tmp_path: Path) -> None:
    from clients.cli import main

    result = CliRunner().invoke(
        main, ["serve", "--data-dir", str(tmp_path), "--witness", "not-a-vkey"]
    )
    assert result.exit_code == 2
    assert "--witness" in result.output
