"""What an anonymous client can make a ``carbonledger serve`` process allocate,
measured on the real process (``/proc/<pid>/status``): a burst of concurrent bad
log-ins from one address (each secret check is argon2, 64 MiB), and a 48 MB body
sent to ``/3/events`` without a token."""

from __future__ import annotations

import contextlib
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.reliability.server_process import ServeProcess

pytestmark = pytest.mark.reliability
MB = 1024 * 1024


def _reset_peak(pid: int) -> None:
    """Start VmHWM over from the current RSS (Linux ``clear_refs``), so the peak
    measured afterwards is the peak of what follows, not of the start-up."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def test_a_burst_of_bad_logins_is_throttled_and_bounded_in_memory(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path / "data", None)
    try:
        url = server.info["http"]
        form = {"grant_type": "client_credentials"}
        with httpx.Client(base_url=url, timeout=60) as http:
            # Warm up the secret check once, so the baseline includes what a single
            # log-in allocates for good.
            assert http.post("/auth/token", data=form, auth=("warm-up", "x")).status_code == 401
            _reset_peak(server.proc.pid)
            before = _memory_kb(server.proc.pid)

            def attempt(i: int) -> int:
                with httpx.Client(base_url=url, timeout=60) as one:
                    answer = one.post("/auth/token", data=form, auth=(str(uuid.uuid4()), "bad"))
                    return answer.status_code

            with ThreadPoolExecutor(30) as pool:
                statuses = list(pool.map(attempt, range(30)))
        after = _memory_kb(server.proc.pid)
        growth_mb = (after["VmHWM"] - before["VmRSS"]) / 1024
        print(f"login burst: statuses {sorted(statuses)}; peak RSS growth {growth_mb:.0f} MB")
        # 503: the secret checks queued longer than the gateway waits for one.
        assert set(statuses) <= {401, 429, 503}, statuses
        assert statuses.count(429) >= 20, statuses
        assert growth_mb < 300, f"peak RSS grew by {growth_mb:.0f} MB"
    finally:
        server.stop()


def test_an_unauthenticated_huge_body_is_not_read(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path / "data", None)
    try:
        parts = urlsplit(server.info["http"])
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        _reset_peak(server.proc.pid)
        before = _memory_kb(server.proc.pid)
        size = 48 * MB
        body = b'{"type": "x", "data": {"pad": "' + b"x" * (size - 40) + b'"}}'
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(
                f"POST /3/events HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/cloudevents+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            # The answer comes before any of the body was sent.
            head = sock.recv(65536).decode(errors="replace")
            assert head.startswith("HTTP/1.1 403"), head[:200]
            # Then the body anyway: the server closes the connection unread.
            with contextlib.suppress(OSError):
                sock.sendall(body)
        with httpx.Client(base_url=server.info["http"], timeout=60) as http:
            assert http.get("/healthz").status_code == 200
        after = _memory_kb(server.proc.pid)
        growth_mb = (after["VmHWM"] - before["VmRSS"]) / 1024
        print(f"48 MB unauthenticated body: peak RSS growth {growth_mb:.0f} MB")
        assert growth_mb < 16, f"peak RSS grew by {growth_mb:.0f} MB"
    finally:
        server.stop()
