"""Issue 14, finding 8: the command line fails in one line, with a documented code.

Real processes: an unreachable ledger, a gateway refusing credentials or a
request, and Ctrl-C on a ``serve`` whose verification workers are busy.
Exit codes are those of docs/api.md, "CLI exit codes".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, new_entry
from clients.sdk.entries import SignedEntry
from ledger.datadir import DEFAULT_OPERATOR_ORG, DataDir
from ledger.keys import new_private_key, save_private_key
from tests.cli_process import (
    closed_port,
    group_processes,
    read_banner,
    run_cli,
    serving,
    start_cli,
    wait_until_group_gone,
)
from tests.ledger_fixtures import enroll

REFUSED, UNREACHABLE, CREDENTIALS = 1, 3, 4


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "org.key"
    save_private_key(new_private_key(), path)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("served") / "data"
    with serving(data) as info:
        yield {**info, "data": str(data)}


# ``submit`` is in tests/reliability: it rides out a restarting ledger for ~10 s first.
@pytest.mark.parametrize(
    "command",
    [
        ["checkpoint"],
        [
            *("org", "enroll", "--org", "urn:x:new", "--name", "N", "--role", "buyer"),
            *("--public-key", "{key}.pub", "--operator-key", "{key}"),
        ],
        ["audit", "--ledger-key", "{vkey}", "--key", "{key}", "--org", "urn:x:auditor"],
        ["witness", "pull", "--ledger-key", "{vkey}", "--key", "{key}", "--state", "{tmp}"],
    ],
    ids=lambda command: command[0],
)
def test_an_unreachable_ledger_is_one_line_naming_it(
    command: list[str], key_file: Path, tmp_path: Path
) -> None:
    check_unreachable_ledger(command, key_file, tmp_path)


def check_unreachable_ledger(command: list[str], key_file: Path, tmp_path: Path) -> None:
    """``command`` (``{key}``, ``{entry}``, ``{vkey}``, ``{tmp}`` filled in) with a
    ``--ledger`` nobody listens on: one line naming the address, exit code 3."""
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps({"type": "org.update", "name": "x"}))
    vkey = "carbonledger.local/log+58143ce8+AVwOdkS9cN4+JHe5RoL4tmek++jwiNaKOPp7f9YfFktd"
    values = {"key": str(key_file), "entry": str(entry), "vkey": vkey, "tmp": str(tmp_path)}
    address = f"127.0.0.1:{closed_port()}"
    args = [part.format(**values) for part in command]
    result = run_cli(*args, "--ledger", address)
    line = _one_line(result)
    assert result.returncode == UNREACHABLE, result.stderr
    assert address in line and "--ledger" in line


def test_refused_credentials_show_the_gateways_message(served: dict[str, str]) -> None:
    result = run_cli(
        "verify-entry",
        "--gateway",
        served["http"],
        "--ledger-key",
        served["ledger-key"],
        "--client-id",
        "no-such-client",
        "--client-secret",
        "wrong",
        "1",
    )
    line = _one_line(result)
    assert result.returncode == CREDENTIALS, result.stderr
    assert "401" in line and "invalid_client: unknown client or wrong secret" in line
    assert "did not accept client no-such-client: wrong client id or secret" in line


def test_a_gateway_error_shows_its_code_and_message(served: dict[str, str]) -> None:
    added = run_cli("clients", "add", "--org", DEFAULT_OPERATOR_ORG, "--data-dir", served["data"])
    assert added.returncode == 0, added.stderr
    client = json.loads(added.stdout)
    result = run_cli(
        "verify-entry",
        "--gateway",
        served["http"],
        "--ledger-key",
        served["ledger-key"],
        "--client-id",
        client["clientId"],
        "--client-secret",
        client["clientSecret"],
        "999999",
    )
    line = _one_line(result)
    assert result.returncode == REFUSED, result.stderr
    assert "entry 999999 is not visible" in line and "detail-level grant" in line
    assert "NotFound" in line


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    result = run_cli("clients", "list", "--db", url)
    line = _one_line(result)
    assert result.returncode == UNREACHABLE, result.stderr
    assert "database" in line


def _flood(target: str, signer: OrgSigner, stop: threading.Event) -> None:
    """Submit inventories over one stream until the server goes away."""

    def entries() -> Iterator[SignedEntry]:
        year = 0
        while not stop.is_set():
            year += 1
            yield signer.sign(
                new_entry(
                    "inventory",
                    signer.org,
                    reportingYear=2000 + year % 25,
                    scope1TCO2e=str(year),
                    scope2TCO2e="1",
                    electricityMWh="2",
                    renewableElectricityMWh="1",
                )
            )

    with (
        contextlib.suppress(grpc.RpcError),
        LedgerClient(target, window=2048, stream_retries=0) as client,
    ):
        for _ in client.submit_stream(entries()):
            pass


def _worker_count(pgid: int) -> int:
    """Verification workers: processes of the group forked by the multiprocessing
    forkserver (they share its command line), not counting the forkserver itself."""
    count = 0
    for pid in group_processes(pgid):
        with contextlib.suppress(OSError):
            if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
    return max(count - 1, 0)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="serve starts workers on 2+ cores")
def test_ctrl_c_on_a_loaded_serve_stops_everything_quietly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = start_cli(
        "serve", "--data-dir", str(data), "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"
    )
    stop = threading.Event()
    floods: list[threading.Thread] = []
    try:
        info = read_banner(proc)
        assert "grpc" in info, proc.communicate(timeout=60)
        operator = OrgSigner(DEFAULT_OPERATOR_ORG, DataDir(data).operator_key())
        with LedgerClient(info["grpc"]) as client:
            signer = enroll(client, operator, "urn:pact:company:customcode:flood", "supplier")
        floods = [
            threading.Thread(target=_flood, args=(info["grpc"], signer, stop)) for _ in range(2)
        ]
        for flood in floods:
            flood.start()
        # Submissions are flowing once the workers are checking them.
        deadline = time.monotonic() + 60
        while _worker_count(proc.pid) == 0:
            assert proc.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = proc.communicate(timeout=60)
    finally:
        stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
        for flood in floods:
            flood.join(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert wait_until_group_gone(proc.pid) == []


def test_a_file_that_is_not_a_key_is_one_line(tmp_path: Path) -> None:
    not_a_key = tmp_path / "org.key"
    not_a_key.write_text("not a key\n")
    entry = tmp_path / "entry.json"
    entry.write_text("{}")
    result = run_cli("submit", "--key", str(not_a_key), "--org", "urn:x:org", str(entry))
    line = _one_line(result)
    assert result.returncode == 2, result.stderr
    assert str(not_a_key) in line and "not an Ed25519 private key" in line
