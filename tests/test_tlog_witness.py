"""A ledger pushing its checkpoints to three tlog-witness servers, all real, on loopback.

Two witnesses are honest. The third was fed a smaller checkpoint of this log by
someone else (so it answers the ledger's first request, old size 0, with 409 and
the ledger resynchronises from the size it names), and later holds a checkpoint of
a forked log under the same origin (so it answers 422 and the ledger backs off),
until its operator restores the genuine checkpoint. Meanwhile ingest never waits,
the served checkpoint carries the cosignatures of the witnesses that cosigned it,
and a verifier with a 2-of-3 tlog-policy accepts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from clients.sdk import LedgerClient
from clients.serving import ledger_and_gateway
from clients.witness.core import Witness
from clients.witness.state import CosignedCheckpoint, WitnessStore
from gateway.server import HttpServer
from ledger.datadir import DEFAULT_ORIGIN, DataDir
from ledger.keys import new_private_key
from ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    NoteVerifier,
    Verifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
)
from ledger.note.tlog_policy import TlogPolicy
from ledger.server import LedgerServer
from tests.cli_process import closed_port
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.witness_support import post, pushing_config, served_witness, witnesses_reach

T = TypeVar("T")
NAMES = ("w1.example", "w2.example", "w3.example")


def org(i: int) -> str:
    return f"urn:pact:company:customcode:tw{i}"


class Setup:
    def __init__(self, data_dir: Path) -> None:
        DataDir(data_dir).ensure()
        self.ledger = NoteSigner(DEFAULT_ORIGIN, DataDir(data_dir).ledger_key())
        self.signers = [CosignatureSigner(name, new_private_key()) for name in NAMES]
        self.states = [data_dir.parent / f"state-{name}" for name in NAMES]
        self.witnesses = [
            Witness(signer, [self.ledger.verifier()], WitnessStore(state))
            for signer, state in zip(self.signers, self.states, strict=True)
        ]
        self.policy = TlogPolicy.parse(
            f"log {self.ledger.vkey}\n"
            + "".join(f"witness w{i} {s.vkey}\n" for i, s in enumerate(self.signers, 1))
            + "group two 2 w1 w2 w3\nquorum two\n"
        )

    def cosigners(self, note: str) -> set[str]:
        verifiers: list[Verifier] = [self.ledger.verifier(), *(s.verifier() for s in self.signers)]
        return {sig.name for sig in open_note(note, verifiers).verified_signatures} - {
            self.ledger.name
        }


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path / "data")


@pytest.fixture
def urls(setup: Setup) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(served_witness(w, "/witness")) for w in setup.witnesses]


def served_notes(http: HttpServer) -> tuple[str, str]:
    with httpx.Client(timeout=10) as client:
        tlog = client.get(f"{http.url}/tlog/checkpoint")
        native = client.get(f"{http.url}/v1/checkpoint")
    assert tlog.status_code == native.status_code == 200
    return tlog.text, native.text


def latest_cosigned_by(
    setup: Setup, server: LedgerServer, http: HttpServer, names: set[str]
) -> str | None:
    """The served note, once it is the log's latest and cosigned by exactly ``names``."""
    tlog, native = served_notes(http)
    latest = open_checkpoint(tlog, server.signer.verifier())
    if latest.size != server.store.tree_size() or tlog != native:
        return None
    return tlog if setup.cosigners(tlog) == names else None


def test_a_ledger_with_three_witnesses(
    tmp_path: Path,
    db_url: str,
    setup: Setup,
    urls: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    data_dir = tmp_path / "data"
    # Someone else fed the third witness a small checkpoint of this log.
    with running_server(data_dir, db_url) as early, LedgerClient(early.grpc_target) as client:
        enroll(client, operator_of(early), org(0), "buyer")
        fed = early.checkpointer.latest()
    with httpx.Client(timeout=10) as http_client:
        assert post(http_client, urls[2], b"old 0\n\n" + fed.note.encode()).status_code == 200

    witnesses = tuple(f"{s.vkey}={url}" for s, url in zip(setup.signers, urls, strict=True))
    config = pushing_config(data_dir, db_url, witnesses, witness_max_backoff=0.4)
    with (
        ledger_and_gateway(config, "127.0.0.1:0") as (server, http),
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        ledger = server.signer.verifier()
        for i in range(1, 6):
            enroll(client, operator, org(i), "buyer")
        note = witnesses_reach(
            server,
            lambda: latest_cosigned_by(setup, server, http, set(NAMES)),
            "three cosignatures",
        )
        assert setup.policy.check(note) == ("w1", "w2", "w3")
        # The third witness answered 409 with the size it was fed; the ledger resent from it.
        assert f"witness w3.example holds size {fed.size}: resending from it" in caplog.text
        size = open_checkpoint(note, server.signer.verifier()).size
        assert [WitnessStore(s).latest(DEFAULT_ORIGIN).size for s in setup.states] == [size] * 3  # type: ignore[union-attr]

        # The third witness now holds a checkpoint of a fork, same origin, same size.
        forked = Checkpoint(DEFAULT_ORIGIN, size, bytes(32))
        genuine = _replace_state(setup.states[2], sign_checkpoint(forked, setup.ledger), ledger)
        # Ingest goes on; the two honest witnesses keep cosigning, the third refuses (422).
        for i in range(6, 12):
            enroll(client, operator, org(i), "buyer")
        assert server.store.tree_size() == size + 6
        note = witnesses_reach(
            server,
            lambda: latest_cosigned_by(setup, server, http, {"w1.example", "w2.example"}),
            "the two honest cosignatures",
        )
        status = witnesses_reach(
            server,
            lambda: next(
                (s for s in server.witness_status() if s.last_error and "422" in s.last_error),
                None,
            ),
            "the third witness's 422",
        )
        assert status.name == "w3.example" and status.cosigned_size == size
        assert "holds another history" in status.last_error  # type: ignore[operator]
        assert setup.policy.check(note) == ("w1", "w2")
        health = httpx.get(f"{http.url}/healthz").json()
        assert [w["name"] for w in health["witnesses"]] == list(NAMES)
        assert health["witnesses"][2]["consecutiveFailures"] >= 1

        # Its operator restores the genuine checkpoint: the ledger's next retry resyncs.
        _replace_state(setup.states[2], genuine, ledger)
        note = witnesses_reach(
            server, lambda: latest_cosigned_by(setup, server, http, set(NAMES)), "the third again"
        )
        assert setup.policy.check(note) == ("w1", "w2", "w3")
        assert server.witness_status()[2].failures == 0
        assert server.witness_status()[2].last_error is None


def test_a_witness_that_is_down_delays_nothing(tmp_path: Path, db_url: str) -> None:
    signer = CosignatureSigner("down.example", new_private_key())
    down = (f"{signer.vkey}=http://127.0.0.1:{closed_port()}/w",)
    config = pushing_config(tmp_path / "data", db_url, down)
    with (
        ledger_and_gateway(config, "127.0.0.1:0") as (server, http),
        LedgerClient(server.grpc_target) as client,
    ):
        started = time.monotonic()
        for i in range(20):
            enroll(client, operator_of(server), org(i), "buyer")
        assert time.monotonic() - started < 20
        status = witnesses_reach(
            server,
            lambda: next((s for s in server.witness_status() if s.failures >= 3), None),
            "three failed attempts",
        )
        assert status.cosigned_size is None and "ConnectError" in (status.last_error or "")
        tlog, _ = served_notes(http)
        assert open_checkpoint(tlog, NoteVerifier.from_vkey(server.vkey)).size == 21


def _replace_state(state: Path, note: str, ledger: NoteVerifier) -> str:
    """Store ``note`` as the witness's latest cosigned checkpoint; return the one it held."""
    with WitnessStore(state).update(DEFAULT_ORIGIN) as (held, save):
        checkpoint = open_checkpoint(note, ledger)
        save(CosignedCheckpoint(checkpoint.size, checkpoint.root_hash, note))
    assert held is not None
    return held.note


def test_a_witness_ahead_of_the_log_is_reported_not_followed(
    tmp_path: Path, db_url: str, setup: Setup, urls: list[str]
) -> None:
    """A witness holding a larger checkpoint under our origin (signed with our key by
    whoever forked it) answers 409 with that size: the ledger must not resend from it."""
    _hold_forged(setup.states[0], Checkpoint(DEFAULT_ORIGIN, 1000, bytes(32)), setup)
    config = pushing_config(tmp_path / "data", db_url, (f"{setup.signers[0].vkey}={urls[0]}",))
    with ledger_and_gateway(config, "127.0.0.1:0") as (server, http):
        status = witnesses_reach(
            server,
            lambda: next((s for s in server.witness_status() if s.failures >= 2), None),
            "two refused attempts",
        )
        assert "cosigned size 1000, more than this log's" in (status.last_error or "")
        tlog, _ = served_notes(http)
        assert setup.cosigners(tlog) == set()
    held = WitnessStore(setup.states[0]).latest(DEFAULT_ORIGIN)
    assert held is not None and held.size == 1000


def _hold_forged(state: Path, checkpoint: Checkpoint, setup: Setup) -> None:
    with WitnessStore(state).update(DEFAULT_ORIGIN) as (_, save):
        note = sign_checkpoint(checkpoint, setup.ledger)
        save(CosignedCheckpoint(checkpoint.size, checkpoint.root_hash, note))
