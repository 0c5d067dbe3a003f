"""The ``carbonledger`` command line against a real ``serve`` process."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from clients.cli import main as carbonledger_cli
from ledger.note import NoteVerifier, open_checkpoint

CLI = [sys.executable, "-m", "clients.cli"]


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=check, timeout=60)


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """A ``serve`` process and what its banner says; stopped with SIGINT afterwards (it
    must exit 0 within 30 s)."""
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:  # the start-up banner is the synchronisation point
        key, _, value = line.strip().partition(": ")
        info[key] = value
        if key == "ledger-key":
            break
    try:
        assert {"grpc", "http", "ledger-key"} <= info.keys(), info
        info["data"] = str(tmp_path / "data")
        yield proc, info
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    with serving(tmp_path) as (_, info):
        yield info


def test_serve_stops_on_a_signal_the_kernel_gives_to_another_thread(tmp_path: Path) -> None:
    """CI, 2026-12-07: ``serve`` slept through a SIGINT for good. The kernel may deliver a
    process's signal to any thread; Python runs the handler only when the main thread
    runs bytecode, and the main thread was in an untimed wait. Here SIGTERM is sent to
    one of the other threads (``tgkill``), as the kernel may choose to."""
    with serving(tmp_path) as (proc, _):
        others = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
        assert others
        libc = ctypes.CDLL(None, use_errno=True)
        tgkill = {"x86_64": 234, "aarch64": 131}[platform.machine()]
        assert libc.syscall(tgkill, proc.pid, others[0], signal.SIGTERM) == 0
        assert proc.wait(timeout=30) == 0


def test_keys_new_writes_private_pem_0600_and_public_base64(tmp_path: Path) -> None:
    out = tmp_path / "acme.key"
    result = _run("keys", "new", "--out", str(out))
    public = result.stdout.strip()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "acme.key.pub").read_text().strip() == public
    assert len(public) == 44
    again = _run("keys", "new", "--out", str(out), check=False)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr


def test_enroll_submit_checkpoint_round_trip(served: dict[str, str], tmp_path: Path) -> None:
    ledger = served["grpc"]
    key = tmp_path / "recycler.key"
    _run("keys", "new", "--out", str(key))
    org = "urn:pact:company:customcode:recycler"
    enrolled = _run(
        "org",
        "enroll",
        "--org",
        org,
        "--name",
        "Recycler",
        "--role",
        "supplier",
        "--public-key",
        f"{key}.pub",
        "--data-dir",
        served["data"],
        "--ledger",
        ledger,
    )
    assert json.loads(enrolled.stdout)["seq"] == 1

    new_key = tmp_path / "recycler2.key"
    new_public = _run("keys", "new", "--out", str(new_key)).stdout.strip()
    entry_file = tmp_path / "rotate.json"
    entry_file.write_text(
        json.dumps({"type": "key.rotate", "orgId": org, "newPublicKey": new_public})
    )
    submit = ("submit", "--key", str(key), "--org", org, "--ledger", ledger)
    submitted = _run(*submit, "--json", str(entry_file))
    receipt = json.loads(submitted.stdout)
    assert receipt["seq"] == 2 and set(receipt) == {"entryId", "seq", "leafHash", "chainHash"}
    assert len(receipt["leafHash"]) == 64 and receipt["leafHash"] == receipt["leafHash"].lower()

    # The old key was rotated away: the same org's next submission with it is refused.
    again = _run(
        "submit", "--key", str(key), "--org", org, "--ledger", ledger, str(entry_file), check=False
    )
    assert again.returncode == 1 and "PERMISSION_DENIED" in again.stderr

    floats = tmp_path / "float.json"
    floats.write_text('{"type": "key.rotate", "amount": 1.5}')
    bad = _run(
        "submit", "--key", str(new_key), "--org", org, "--ledger", ledger, str(floats), check=False
    )
    assert bad.returncode != 0 and "decimal string" in bad.stderr

    note = _run("checkpoint", "--ledger", ledger).stdout
    checkpoint = open_checkpoint(note, NoteVerifier.from_vkey(served["ledger-key"]))
    assert checkpoint.size == 3
    assert httpx.get(f"{served['http']}/v1/checkpoint").text.startswith(checkpoint.origin)


def test_health_and_reflection(served: dict[str, str]) -> None:
    with grpc.insecure_channel(served["grpc"]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="carbonledger.v1.Ledger"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
        assert "carbonledger.v1.Ledger" in services
        assert "grpc.health.v1.Health" in services


def test_org_companies_binds_company_ids_as_the_operator(
    served: dict[str, str], tmp_path: Path
) -> None:
    ledger, data = served["grpc"], served["data"]
    key = tmp_path / "refiner.key"
    _run("keys", "new", "--out", str(key))
    org = "urn:pact:company:customcode:refiner"
    brand = "urn:pact:company:customcode:acme-brand"
    enroll = ("org", "enroll", "--org", org, "--name", "Refiner", "--role", "supplier")
    _run(
        *enroll,
        *("--public-key", f"{key}.pub", "--company-id", org, "--company-id", brand),
        *("--data-dir", data, "--ledger", ledger),
    )
    # A second org cannot be given a company id the first holds; the holder is not named.
    other_key = tmp_path / "other.key"
    _run("keys", "new", "--out", str(other_key))
    held = _run(
        *("org", "enroll", "--org", "urn:x:other", "--name", "O", "--role", "supplier"),
        *("--public-key", f"{other_key}.pub", "--company-id", brand),
        *("--data-dir", data, "--ledger", ledger),
        check=False,
    )
    assert held.returncode == 1 and "ALREADY_EXISTS" in held.stderr
    assert "companyIds[0]" in held.stderr and org not in held.stderr
    rebind = ("org", "companies", "--org", org, "--company-id", brand, "--ledger", ledger)
    # Only the operator binds companies: the org's own key is refused.
    own = _run(*rebind, "--operator-key", str(key), "--operator-org", org, check=False)
    assert own.returncode == 1 and "PERMISSION_DENIED" in own.stderr and "type" in own.stderr
    receipt = json.loads(_run(*rebind, "--data-dir", data).stdout)
    assert receipt["seq"] == 2
    # Registry accounts are bound the same way, by the operator only, with their serials.
    account = ("org", "account", "--org", org, "--registry", "cn-gec", "--ledger", ledger)
    bind = (*account, "--account-id", "GEC-7", "--serials", "G-000001", "G-000010")
    own = _run(*bind, "--operator-key", str(key), "--operator-org", org, check=False)
    assert own.returncode == 1 and "PERMISSION_DENIED" in own.stderr
    assert json.loads(_run(*bind, "--data-dir", data).stdout)["seq"] == 3
    # The serials went with it: another account cannot be issued them too.
    overlap = ("--account-id", "GEC-8", "--serials", "G-000020", "G-000030")
    again = _run(
        *account, *overlap, "--serials", "G-000010", "G-000010", "--data-dir", data, check=False
    )
    assert again.returncode == 1 and "ALREADY_EXISTS" in again.stderr
    assert "serialRanges[1]" in again.stderr and "GEC-7" not in again.stderr


def test_every_option_of_every_command_has_help_text() -> None:
    """Issue 16: ``--help`` explains every option (and says which ones repeat)."""
    missing: list[str] = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
            return
        missing.extend(
            f"{path} {'/'.join(p.opts)}"
            for p in command.params
            if isinstance(p, click.Option) and not p.hidden and not p.help
        )

    walk(carbonledger_cli, "carbonledger")
    assert missing == []
