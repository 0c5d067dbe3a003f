"""``carbonledger`` as a real child process, for tests of what a user sees: the
lines on stdout and stderr, the exit code, and the processes left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLI = [sys.executable, "-m", "clients.cli"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """In its own process group (as a shell job is), so that the test can send it a
    terminal's Ctrl-C and see whether any process of it is left."""
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def read_banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    """``serve``'s start-up lines up to ``ledger-key``; fewer if it ends first."""
    assert proc.stdout is not None
    info: dict[str, str] = {}
    for line in proc.stdout:
        key, _, value = line.strip().partition(": ")
        info[key] = value
        if key == "ledger-key":
            break
    return info


@contextmanager
def serving(data_dir: Path, *args: str) -> Iterator[dict[str, str]]:
    """A running ``serve`` on free ports; its banner (``grpc``, ``http``, ``ledger-key``)."""
    proc = start_cli(
        "serve",
        "--data-dir",
        str(data_dir),
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        *args,
    )
    failed: BaseException | None = None
    try:
        info = read_banner(proc)
        assert {"grpc", "http", "ledger-key"} <= info.keys(), proc.communicate(timeout=60)
        yield info
    except BaseException as exc:
        failed = exc
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate(timeout=60)
        if failed is not None:  # what the server logged explains what the test saw
            failed.add_note(f"serve {data_dir} logged:\n{output[1] or output[0] or ''}"[-4000:])


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def group_processes(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def wait_until_group_gone(pgid: int, deadline: float = 30.0) -> list[int]:
    """Poll until no process of the group is left, or the deadline passes; what is left."""
    end = time.monotonic() + deadline
    while (left := group_processes(pgid)) and time.monotonic() < end:
        time.sleep(0.05)
    return left
