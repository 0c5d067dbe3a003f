"""The c2sp.org/tlog-witness server over HTTP on loopback: every status code of the
spec, nothing stored on a refusal, and check-then-update atomic across threads and
across servers sharing one state directory."""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from clients.witness.core import OldSizeMismatchError, Witness, WitnessError
from clients.witness.server import MAX_BODY_BYTES
from clients.witness.state import WitnessStore
from ledger.keys import new_private_key
from ledger.note import (
    Checkpoint,
    NoteSigner,
    note_text,
    open_note,
    sign_checkpoint,
    sign_note,
    verify_cosignature,
)
from ledger.note.tlog_witness import AddCheckpointRequest
from tests.cli_process import start_cli
from tests.witness_support import MemoryLog, new_witness, post, served_witness

ORIGIN = "example.com/log"
SIG = "— k ".encode() + base64.b64encode(bytes(72))


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(NoteSigner(ORIGIN, new_private_key()), 40)


@pytest.fixture
def witness(tmp_path: Path, log: MemoryLog) -> Witness:
    return new_witness(tmp_path / "state", log.signer)


@pytest.fixture
def url(witness: Witness) -> Iterator[str]:
    with served_witness(witness, "/w") as served:
        yield served


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def stored_size(witness: Witness) -> int | None:
    latest = witness.store.latest(ORIGIN)
    return None if latest is None else latest.size


def assert_cosigned(response: httpx.Response, witness: Witness, note: str) -> None:
    assert response.status_code == 200, response.text
    [line] = response.text.splitlines(keepends=True)
    assert line.startswith("— witness.example/w ")
    verify_cosignature(note_text(note), line, witness.signer.verifier())
    # As the spec suggests, the client may append the answer to the note and verify it.
    opened = open_note(note + response.text, [witness.signer.verifier()])
    assert len(opened.verified_signatures) == 1


def test_cosigns_the_first_checkpoint_then_consistent_ones(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    assert_cosigned(post(client, url, log.request(0, 10)), witness, log.note(10))
    assert stored_size(witness) == 10
    assert_cosigned(post(client, url, log.request(10, 17)), witness, log.note(17))
    # The same checkpoint again (old size = size, no proof): cosigned again.
    assert_cosigned(post(client, url, log.request(17, 17)), witness, log.note(17))
    assert stored_size(witness) == 17
    stored = witness.store.latest(ORIGIN)
    assert stored is not None and stored.note == log.note(17)


def test_unknown_origin_is_404(url: str, client: httpx.Client, witness: Witness) -> None:
    other = MemoryLog(NoteSigner("other.example/log", new_private_key()), 5)
    response = post(client, url, other.request(0, 5))
    assert response.status_code == 404
    assert (
        response.json()["code"] == "NotFound" and "other.example/log" in response.json()["message"]
    )
    assert stored_size(witness) is None


def test_no_trusted_signature_is_403_and_unknown_signatures_are_ignored(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    impostor = MemoryLog(NoteSigner(ORIGIN, new_private_key()), 40)  # same origin, other key
    response = post(client, url, impostor.request(0, 5))
    assert response.status_code == 403 and response.json()["code"] == "AccessDenied"
    assert stored_size(witness) is None
    # A trusted signature among unknown ones is enough; the unknown ones are ignored.
    stranger = NoteSigner("stranger.example", new_private_key())
    both = sign_note(note_text(log.note(5)), stranger, log.signer)
    response = post(client, url, AddCheckpointRequest(0, (), both))
    assert_cosigned(response, witness, both)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"old 01\n\n{note}", "old <size>"),
        (b"old -1\n\n{note}", "old <size>"),
        (b"new 0\n\n{note}", "old <size>"),
        (b"old 0\n{note}", "base64"),  # the note's lines taken as proof lines
        (b"old 0\n", "an empty line"),
        (b"old 5\nnot base64!\n\n{note}", "base64"),
        (b"old 5\n" + base64.b64encode(bytes(31)) + b"\n\n{note}", "32-byte hash"),
        (b"old 5\n" + b"\n".join([base64.b64encode(bytes(32))] * 64) + b"\n\n{note}", "63"),
        (b"old 0\n" + base64.b64encode(bytes(32)) + b"\n\n{note}", "must be empty"),
        (b"old 11\n\n{note}", "exceeds the checkpoint's size 10"),
        (b"old 0\n\nnot a note\n", "not a checkpoint note"),
        (b"\xff\xfe", "UTF-8"),
        (b"old " + b"9" * 4301 + b"\n\n{note}", "at most 20 digits"),
        (b"old 1" + b"0" * 20 + b"\n\n{note}", "at most 20 digits"),
        (
            b"old 0\n\n" + ORIGIN.encode() + b"\n" + b"9" * 5000 + b"\nAAAA\n\n" + SIG + b"\n",
            "at most 20",
        ),
    ],
    ids=[
        "leading-zero",
        "negative",
        "not-old",
        "no-blank-line",
        "nothing-after-old",
        "bad-base64",
        "short-hash",
        "64-proof-lines",
        "proof-from-zero",
        "old-above-size",
        "no-note",
        "not-utf8",
        "old-of-4301-digits",
        "old-of-21-digits",
        "size-of-5000-digits",
    ],
)
def test_malformed_requests_are_400(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog, body: bytes, complaint: str
) -> None:
    response = post(client, url, body.replace(b"{note}", log.note(10).encode()))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest" and complaint in response.json()["message"]
    assert stored_size(witness) is None


def test_a_signed_size_beyond_the_state_is_400(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    """Red team re-check: a trusted key's checkpoint of size 2^63 (a valid uint64) used to
    overflow the SQLite state with a 500 and a traceback."""
    for size in (2**63, 2**64 - 1):
        note = sign_checkpoint(Checkpoint(log.signer.name, size, log.tree.root(3)), log.signer)
        response = post(client, url, AddCheckpointRequest(0, (), note))
        assert response.status_code == 400, response.text
        assert "2^63-1" in response.json()["message"]
    assert stored_size(witness) is None


def test_at_most_63_proof_lines_are_accepted(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    """63 lines parse (and the wrong proof then fails the consistency check, not parsing)."""
    assert_cosigned(post(client, url, log.request(0, 3)), witness, log.note(3))
    lines = b"\n".join([base64.b64encode(bytes(32))] * 63)
    response = post(client, url, b"old 3\n" + lines + b"\n\n" + log.note(10).encode())
    assert response.status_code == 422


def test_a_body_over_the_limit_is_413(url: str, client: httpx.Client, witness: Witness) -> None:
    response = post(client, url, b"old 0\n\n" + b"x" * MAX_BODY_BYTES)
    assert response.status_code == 413 and response.json()["code"] == "PayloadTooLarge"
    assert stored_size(witness) is None


def test_a_stale_old_size_is_409_with_the_latest_size(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    assert_cosigned(post(client, url, log.request(0, 10)), witness, log.note(10))
    for old in (0, 5, 12):
        response = post(client, url, log.request(old, 20))
        assert response.status_code == 409
        assert response.headers["content-type"] == "text/x.tlog.size"
        assert response.content == b"10\n"
    assert stored_size(witness) == 10
    # Resynchronised from the size the witness named, the same checkpoint is cosigned.
    assert_cosigned(post(client, url, log.request(10, 20)), witness, log.note(20))


def test_same_size_another_root_is_409(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    assert_cosigned(post(client, url, log.request(0, 10)), witness, log.note(10))
    fork = MemoryLog(log.signer, 40, salt="fork")
    response = post(client, url, fork.request(10, 10))
    assert response.status_code == 409 and response.json()["code"] == "Conflict"
    assert "forked" in response.json()["message"]
    stored = witness.store.latest(ORIGIN)
    assert stored is not None and stored.note == log.note(10)


def test_a_proof_that_does_not_verify_is_422(
    url: str, client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    assert_cosigned(post(client, url, log.request(0, 10)), witness, log.note(10))
    fork = MemoryLog(log.signer, 40, salt="fork")  # the same key signs another history
    response = post(client, url, fork.request(10, 20))
    assert response.status_code == 422 and response.json()["code"] == "InconsistentCheckpoint"
    # A proof with a hash flipped, for the honest checkpoint.
    honest = log.request(10, 20)
    bad = AddCheckpointRequest(10, (bytes(32), *honest.proof[1:]), honest.note)
    assert post(client, url, bad).status_code == 422
    # No proof at all where one is needed.
    assert post(client, url, AddCheckpointRequest(10, (), honest.note)).status_code == 422
    assert stored_size(witness) == 10


class _PausingStore(WitnessStore):
    """Waits (up to ``pause`` s) for the other request after reading the stored checkpoint:
    if reading and saving were not one locked step, both would read the same size."""

    def __init__(self, directory: Path, barrier: threading.Barrier) -> None:
        super().__init__(directory)
        self._barrier = barrier

    def _current(self, conn: sqlite3.Connection, origin: str):  # type: ignore[no-untyped-def]
        found = super()._current(conn, origin)
        # Broken when the other request waits for the lock instead: the expected case.
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait(timeout=1.0)
        return found


def test_concurrent_requests_never_roll_back_the_newer(tmp_path: Path, log: MemoryLog) -> None:
    first = new_witness(tmp_path / "state", log.signer)
    assert first.add_checkpoint(log.request(0, 10))
    barrier = threading.Barrier(2)
    racing = Witness(
        first.signer, [log.signer.verifier()], _PausingStore(tmp_path / "state", barrier)
    )

    def attempt(size: int) -> int | None:
        try:
            racing.add_checkpoint(log.request(10, size))
        except OldSizeMismatchError as exc:
            return exc.latest_size
        return None

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(attempt, (30, 20)))
    # Exactly one was cosigned; the other was told the size the winner stored.
    winners = [size for size, refused in zip((30, 20), outcomes, strict=True) if refused is None]
    assert len(winners) == 1, outcomes
    assert [refused for refused in outcomes if refused is not None] == winners
    assert stored_size(first) == winners[0]


def test_two_servers_sharing_a_state_directory_cosign_each_size_once(
    tmp_path: Path, log: MemoryLog, client: httpx.Client
) -> None:
    one = new_witness(tmp_path / "state", log.signer)
    two = Witness(one.signer, [log.signer.verifier()], WitnessStore(tmp_path / "state"))
    with served_witness(one) as url_one, served_witness(two) as url_two:
        assert post(client, url_one, log.request(0, 4)).status_code == 200
        # Each server sees what the other stored.
        assert post(client, url_two, log.request(0, 6)).content == b"4\n"
        old = 4
        for new_a, new_b in ((6, 7), (9, 8), (12, 14), (25, 20)):
            with ThreadPoolExecutor(2) as pool:
                a = pool.submit(post, client, url_one, log.request(old, new_a))
                b = pool.submit(post, client, url_two, log.request(old, new_b))
                statuses = {new_a: a.result().status_code, new_b: b.result().status_code}
            assert sorted(statuses.values()) == [200, 409], statuses
            won = [size for size, status in statuses.items() if status == 200]
            old = won[0]
            assert stored_size(one) == old
    with pytest.raises(WitnessError):
        one.add_checkpoint(log.request(4, 6))


def test_witness_serve_runs_as_a_command(tmp_path: Path, log: MemoryLog) -> None:
    from ledger.keys import save_private_key

    key_file = tmp_path / "w.key"
    save_private_key(new_private_key(), key_file)
    state = tmp_path / "state"
    proc = start_cli(
        *("witness", "serve", "--key", str(key_file), "--name", "witness.example/w"),
        *("--log", log.signer.vkey, "--state", str(state), "--listen", "127.0.0.1:0"),
        *("--prefix", "/w/"),
    )
    try:
        assert proc.stdout is not None
        banner = dict(proc.stdout.readline().strip().partition(": ")[::2] for _ in range(3))
        assert banner["logs"] == ORIGIN and banner["url"].endswith("/w")
        with httpx.Client(timeout=10) as http:
            response = post(http, banner["url"], log.request(0, 7))
        assert response.status_code == 200, response.text
        assert response.text.startswith("— witness.example/w ")
        assert banner["witness-key"].startswith("witness.example/w+")
        # The command's state is the directory's: a witness over it sees size 7.
        assert WitnessStore(state).latest(ORIGIN) is not None
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_the_state_is_read_by_its_primary_key(tmp_path: Path) -> None:
    store = WitnessStore(tmp_path)
    with sqlite3.connect(store.path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT size, root_hash, note FROM cosigned WHERE origin = ?",
            (ORIGIN,),
        ).fetchall()
    assert "USING INDEX sqlite_autoindex_cosigned_1" in " ".join(str(row[-1]) for row in plan)


def test_a_client_hanging_up_mid_body_is_no_traceback(
    url: str, witness: Witness, caplog: pytest.LogCaptureFixture
) -> None:
    """F7: each aborted upload used to log a 56-line ASGI traceback."""
    caplog.set_level(logging.DEBUG)
    hang_ups = _Counted("hung up", 3)
    logging.getLogger().addHandler(hang_ups)
    try:
        host, port = url.removeprefix("http://").split("/")[0].split(":")
        for _ in range(3):
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(
                    b"POST /w/add-checkpoint HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 1000\r\n\r\nold 0"
                )
        assert hang_ups.reached.wait(30), "the three hang-ups were not all handled"
    finally:
        logging.getLogger().removeHandler(hang_ups)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert stored_size(witness) is None


class _Counted(logging.Handler):
    """``reached`` is set once ``times`` records saying ``words`` were logged, by
    whichever thread logs them."""

    def __init__(self, words: str, times: int) -> None:
        super().__init__(logging.DEBUG)
        self.words, self.left = words, times
        self.reached = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.left -= 1
            if self.left <= 0:
                self.reached.set()
