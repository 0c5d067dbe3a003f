"""Issue 14, finding 7: ``serve`` and ``demo`` refuse an address that is taken.

Real processes on real ports: a second ledger must not start on the gRPC port of
a running one (grpcio would share it through SO_REUSEPORT, and the two would
answer alternately), and a taken HTTP port must not end in a traceback. Each
refusal is one line naming the address and the option to change, exit code 5,
and nothing left behind: no process, no new data directory, no temporary demo
directory with keys.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from ledger.note import NoteVerifier, open_checkpoint
from tests.cli_process import read_banner, serving, start_cli, wait_until_group_gone
from tests.ledger_fixtures import running_server

ADDRESS_UNAVAILABLE = 5  # docs/api.md, "CLI exit codes"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port held by a plain listening socket (no SO_REUSEPORT)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def _refused(proc: subprocess.Popen[str]) -> str:
    """The process ended without starting; its one line of stderr."""
    banner = read_banner(proc)
    assert "grpc" not in banner, f"a second server started: {banner}"
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == ADDRESS_UNAVAILABLE, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert wait_until_group_gone(proc.pid) == []
    return lines[0]


def test_serve_refuses_the_grpc_port_of_a_running_ledger(tmp_path: Path) -> None:
    with serving(tmp_path / "first") as first:
        second = start_cli(
            "serve",
            "--data-dir",
            str(tmp_path / "second"),
            "--grpc",
            first["grpc"],
            "--http",
            "127.0.0.1:0",
        )
        try:
            line = _refused(second)
        finally:
            if second.poll() is None:
                second.kill()
                second.communicate(timeout=60)
        assert first["grpc"] in line and "--grpc" in line and "in use" in line
        assert not (tmp_path / "second").exists()
        # Every new connection to the port reaches the first ledger and only it.
        verifier = NoteVerifier.from_vkey(first["ledger-key"])
        for _ in range(8):
            with grpc.insecure_channel(first["grpc"]) as channel:
                note = pb_grpc.LedgerStub(channel).GetCheckpoint(
                    pb.GetCheckpointRequest(), timeout=30
                )
            assert open_checkpoint(note.note, verifier).size >= 1


def test_serve_refuses_a_taken_http_port(tmp_path: Path, taken_port: int) -> None:
    address = f"127.0.0.1:{taken_port}"
    proc = start_cli(
        "serve", "--data-dir", str(tmp_path / "data"), "--grpc", "127.0.0.1:0", "--http", address
    )
    line = _refused(proc)
    assert address in line and "--http" in line and "Traceback" not in line
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("option", ["--grpc", "--http"])
def test_demo_refuses_a_taken_port_and_removes_its_temporary_directory(
    tmp_path: Path, taken_port: int, option: str
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    addresses = {"--grpc": "127.0.0.1:0", "--http": "127.0.0.1:0"}
    addresses[option] = f"127.0.0.1:{taken_port}"
    proc = start_cli(
        "demo", *(part for pair in addresses.items() for part in pair), env={"TMPDIR": str(temp)}
    )
    line = _refused(proc)
    assert addresses[option] in line and option in line
    assert list(temp.iterdir()) == []


def test_make_run_passes_args_to_the_demo() -> None:
    root = Path(__file__).resolve().parents[1]
    dry_run = subprocess.run(
        ["make", "-n", "-C", str(root), "run", "ARGS=--http 127.0.0.1:8081"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "carbonledger demo --http 127.0.0.1:8081" in dry_run.stdout


def test_a_running_ledger_does_not_share_its_grpc_port(tmp_path: Path, db_url: str) -> None:
    """The race the start-up check cannot see: a process that binds after the check,
    with SO_REUSEPORT (grpcio's default), must still find the ledger's port taken."""
    with running_server(tmp_path / "a", db_url) as ledger:
        intruder = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        try:
            try:
                bound = intruder.add_insecure_port(f"127.0.0.1:{ledger.port}")
            except RuntimeError:
                bound = 0
            assert bound == 0, "a second gRPC server bound the ledger's port"
        finally:
            intruder.stop(None)
