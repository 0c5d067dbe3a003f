"""A real ledger pushing its checkpoints to a hostile witness on loopback.

Each test gives the witness one misbehaviour and checks that the ledger's pusher
fails that push (reported on ``/healthz``), stays bounded, and logs it safely.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from clients.serving import ledger_and_gateway
from gateway.server import HttpServer
from ledger.keys import new_private_key
from ledger.note import CosignatureSigner
from ledger.note.tlog_witness import SIZE_CONTENT_TYPE, AddCheckpointRequest
from ledger.server import LedgerServer, ServerConfig
from ledger.witness_http import MAX_ANSWER_BYTES, InvalidWitnessURLError
from ledger.witness_pusher import WitnessEndpoint, WitnessStatus
from tests.hostile_witness import Handler, HostileWitness, hostile_witness
from tests.witness_support import pushing_config, witnesses_reach


def config_for(
    witness: HostileWitness, tmp_path: Path, db_url: str, **config: float
) -> ServerConfig:
    own = (f"{witness.own.vkey}={witness.url}",)
    return pushing_config(tmp_path / "data", db_url, own, **config)


@contextmanager
def ledger_pushing_to(
    witness: HostileWitness, tmp_path: Path, db_url: str, **config: float
) -> Iterator[tuple[LedgerServer, HttpServer]]:
    with ledger_and_gateway(config_for(witness, tmp_path, db_url, **config), "127.0.0.1:0") as (
        server,
        http,
    ):
        yield server, http


def failed(server: LedgerServer, times: int = 1) -> WitnessStatus:
    return witnesses_reach(
        server,
        lambda: next((s for s in server.witness_status() if s.failures >= times), None),
        f"{times} failed pushes",
    )


def test_a_huge_answer_fails_the_push_without_reading_it(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """F1: 200 MB of signature lines of another key: the ledger stops at 64 KiB."""

    def huge(handler: Handler, request: AddCheckpointRequest) -> None:
        line = handler.witness.cosign(handler.witness.other, request).encode()
        handler.stream(line * 10_000, 2_000)

    caplog.set_level(logging.INFO)
    with (
        hostile_witness(huge) as witness,
        ledger_pushing_to(witness, tmp_path, db_url) as (server, http),
    ):
        status = failed(server, 2)
        assert f"answer longer than {MAX_ANSWER_BYTES} bytes" in (status.last_error or "")
        assert status.cosigned_size is None
        assert witness.aborted.wait(30)
        health = httpx.get(f"{http.url}/healthz").json()["witnesses"][0]
        assert health["cosignedSize"] is None and health["consecutiveFailures"] >= 2
    assert witness.bytes_sent < 100 * 2**20  # it could not send it all
    assert "ignoring" not in caplog.text and "ignored" not in caplog.text


def test_lines_of_other_keys_are_counted_once_per_push(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    def mixed(handler: Handler, request: AddCheckpointRequest) -> None:
        own = handler.witness.cosign(handler.witness.own, request)
        handler.answer(200, own + handler.witness.cosign(handler.witness.other, request) * 50)

    caplog.set_level(logging.INFO)
    with (
        hostile_witness(mixed) as witness,
        ledger_pushing_to(witness, tmp_path, db_url) as (server, _),
    ):
        witnesses_reach(
            server, lambda: server.witness_status()[0].cosigned_size, "a cosigned checkpoint"
        )
    pushes = len(witness.requests)
    ignored = [r for r in caplog.records if "lines of other keys" in r.getMessage()]
    assert 1 <= len(ignored) <= pushes
    assert all(r.getMessage().endswith("ignored 50 lines of other keys") for r in ignored)


def test_a_dripping_witness_fails_within_the_deadline(tmp_path: Path, db_url: str) -> None:
    """F2: a byte every 50 ms resets httpx's read timeout forever; the deadline does not."""
    with (
        hostile_witness(lambda handler, _: handler.drip(0.05)) as witness,
        ledger_pushing_to(witness, tmp_path, db_url, witness_deadline=1.0) as (server, http),
    ):
        started = time.monotonic()
        status = failed(server)
        assert time.monotonic() - started < 10
        assert "DeadlineExceededError: no complete answer within 1 s" in (status.last_error or "")
        health = httpx.get(f"{http.url}/healthz").json()["witnesses"][0]
        assert health["consecutiveFailures"] >= 1 and "within 1 s" in health["lastError"]


def test_a_witness_dripping_its_headers_fails_within_the_deadline(
    tmp_path: Path, db_url: str
) -> None:
    """Red team re-check: the status line, then a header every 50 ms, never ending the
    headers. No per-read timeout fires; the exchange's deadline does, and no second
    exchange starts while the first is still open (one thread held, not one per retry)."""
    with (
        hostile_witness(lambda handler, _: handler.drip_headers(0.05)) as witness,
        ledger_pushing_to(witness, tmp_path, db_url, witness_deadline=1.0) as (server, _),
    ):
        started = time.monotonic()
        status = failed(server, 2)
        assert time.monotonic() - started < 10
        assert "DeadlineExceededError" in (status.last_error or "")
        assert "still open" in (status.last_error or "")
        assert len(witness.requests) == 1


def test_stopping_the_ledger_does_not_wait_for_a_push_in_flight(
    tmp_path: Path, db_url: str
) -> None:
    with hostile_witness(lambda handler, _: handler.drip(0.05)) as witness:
        server = LedgerServer(config_for(witness, tmp_path, db_url, witness_deadline=600.0))
        server.start()
        try:
            assert witness.dripping.wait(30)
        finally:
            started = time.monotonic()
            server.stop()
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("signer", ["other", "rotated"])
def test_a_200_without_its_own_cosignature_is_a_failure(
    tmp_path: Path, db_url: str, signer: str
) -> None:
    """F3: another witness's valid line, or the same name with a key the ledger was not
    given (the witness rotated its key), is no cosignature by this witness."""
    rotated = CosignatureSigner("hostile.example/w", new_private_key())

    def not_own(handler: Handler, request: AddCheckpointRequest) -> None:
        key = handler.witness.other if signer == "other" else rotated
        handler.answer(200, handler.witness.cosign(key, request))

    with (
        hostile_witness(not_own) as witness,
        ledger_pushing_to(witness, tmp_path, db_url) as (server, http),
    ):
        status = failed(server, 2)
        key_id = witness.own.verifier().key_hash.hex()
        assert status.last_error == (
            "PushRefusedError: answered 200 without a cosignature by its key "
            f"hostile.example/w (key ID {key_id})"
        )
        assert status.cosigned_size is None
        assert httpx.get(f"{http.url}/healthz").json()["witnesses"][0]["cosignedSize"] is None


def test_what_a_witness_says_is_logged_escaped(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """F4: newlines in an error body would forge log lines; escapes would drive a terminal."""
    forged = "witness w1.example cosigned checkpoint 99999"
    body = f"oops\n2026-12-06 04:00:00,000 INFO ledger.witness_pusher: {forged}\n\x1b[2J"
    with (
        hostile_witness(lambda handler, _: handler.answer(422, body)) as witness,
        ledger_pushing_to(witness, tmp_path, db_url) as (server, _),
    ):
        status = failed(server)
    said = "it said: 'oops\\n2026-12-06 04:00:00,000 INFO"
    assert said in (status.last_error or "")
    warnings = [r.getMessage() for r in caplog.records if r.name == "ledger.witness_pusher"]
    assert any(said in message for message in warnings)
    assert not any("\n" in message or "\x1b" in message for message in warnings)


def test_the_submission_prefix_path_gets_add_checkpoint(tmp_path: Path, db_url: str) -> None:
    """F5: ``/add-checkpoint`` joins the prefix's path (a trailing slash is dropped)."""
    own = []

    def honest(handler: Handler, request: AddCheckpointRequest) -> None:
        own.append(handler.path)
        handler.answer(200, handler.witness.cosign(handler.witness.own, request))

    with hostile_witness(honest) as witness:
        witness.url += "/"
        with ledger_pushing_to(witness, tmp_path, db_url) as (server, http):
            witnesses_reach(
                server, lambda: server.witness_status()[0].cosigned_size, "a cosigned checkpoint"
            )
            shown = httpx.get(f"{http.url}/healthz").json()["witnesses"][0]["url"]
        assert shown == witness.url.rstrip("/")
    assert set(own) == {"/hostile/add-checkpoint"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://alice:S3cret@127.0.0.1:9/w", "may not carry credentials"),
        ("http://alice@127.0.0.1:9/w", "may not carry credentials"),
        ("http://127.0.0.1:9/w?token=T0ken", "no query"),
        ("http://127.0.0.1:9/w?", "no query"),
        ("http://127.0.0.1:9/w#frag", "fragment"),
        ("http://127.0.0.1:port/w", "malformed"),
        ("http:///w", "http(s)://host"),
    ],
)
def test_serve_refuses_a_witness_url_that_is_no_submission_prefix(
    tmp_path: Path, url: str, why: str
) -> None:
    from clients.cli import main

    vkey = CosignatureSigner("w.example", new_private_key()).vkey
    with pytest.raises(InvalidWitnessURLError, match=re.escape(why)):
        WitnessEndpoint.parse(f"{vkey}={url}")
    result = CliRunner().invoke(
        main, ["serve", "--data-dir", str(tmp_path), "--witness", f"{vkey}={url}"]
    )
    assert result.exit_code == 2, result.output
    assert "--witness" in result.output and why in result.output
    assert "S3cret" not in result.output and "T0ken" not in result.output


def test_a_size_answer_of_5000_digits_is_a_failure_not_a_crash(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """F6: Python's int() refuses over 4300 digits; the parser refuses over 20 first."""
    huge = "9" * 5000 + "\n"
    with (
        hostile_witness(lambda handler, _: handler.answer(409, huge, SIZE_CONTENT_TYPE)) as wit,
        ledger_pushing_to(wit, tmp_path, db_url) as (server, _),
    ):
        status = failed(server, 2)
    assert "InvalidWitnessRequestError: a size answer is `<decimal>\\n`" in (
        status.last_error or ""
    )
    assert len(status.last_error or "") < 300
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
