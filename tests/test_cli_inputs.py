"""Issue 14, finding 8: option values and local files the CLI cannot use are usage
errors (exit 2, docs/api.md "CLI exit codes"), refused before anything is
contacted or created.

Real ``carbonledger`` processes: addresses with ports outside 0..65535 (the
kernel would keep the low 16 bits and connect elsewhere), store URLs without a
dialect, entry files that are not JSON objects, and SQLite stores that do not
exist (which the administering commands used to create empty).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clients.sdk import LedgerClient, OrgSigner
from ledger.datadir import DEFAULT_OPERATOR_ORG, DataDir
from ledger.keys import new_private_key, save_private_key
from tests.cli_process import run_cli, serving
from tests.ledger_fixtures import enroll

USAGE = 2
VKEY = "carbonledger.local/log+58143ce8+AVwOdkS9cN4+JHe5RoL4tmek++jwiNaKOPp7f9YfFktd"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.key"
    save_private_key(new_private_key(), path)
    return path


def _usage_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == USAGE, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = _usage_error(result).splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("address", ["127.0.0.1:99999", "127.0.0.1:65536", "", "127.0.0.1"])
def test_a_ledger_address_out_of_range_is_a_usage_error(
    address: str, key_file: Path, tmp_path: Path
) -> None:
    entry = tmp_path / "entry.json"
    entry.write_text('{"type": "org.update", "name": "x"}')
    submit = run_cli(
        "submit", "--key", str(key_file), "--org", "urn:x:a", "--ledger", address, str(entry)
    )
    assert "Invalid value for '--ledger'" in _usage_error(submit)
    checkpoint = run_cli("checkpoint", "--ledger", address)
    assert "Invalid value for '--ledger'" in _usage_error(checkpoint)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "127.0.0.1:8080", "ftp://x/"])
def test_a_gateway_url_that_cannot_be_reached_as_given_is_a_usage_error(url: str) -> None:
    result = run_cli(
        *("verify-entry", "--gateway", url, "--ledger-key", VKEY),
        *("--client-id", "c", "--client-secret", "s", "1"),
    )
    assert "Invalid value for '--gateway'" in _usage_error(result)


@pytest.mark.parametrize("command", [["add", "--org", "urn:x:a"], ["list"], ["revoke", "c1"]])
def test_a_store_url_without_a_dialect_is_a_usage_error(command: list[str]) -> None:
    result = run_cli("clients", *command, "--db", "garbage://user:s3cret@x/db")
    stderr = _usage_error(result)
    assert "Invalid value for '--db'" in stderr and "s3cret" not in stderr


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"type": "org.update", "name": "\xff\xfe"}', b"[1, 2]", b"5", b"[" * 100_000],
    ids=["syntax", "not-utf8", "not-objects", "number", "deep"],
)
def test_an_entry_file_that_is_not_entries_is_a_usage_error(
    content: bytes, key_file: Path, tmp_path: Path
) -> None:
    entry = tmp_path / "bad.json"
    entry.write_bytes(content)
    # Nothing listens on port 1: the file is refused before the ledger is contacted.
    result = run_cli(
        "submit", "--key", str(key_file), "--org", "urn:x:a", "--ledger", "127.0.0.1:1", str(entry)
    )
    assert _one_line(result).startswith(f"error: {entry}: ")


def test_a_float_in_an_entry_file_is_a_usage_error(key_file: Path, tmp_path: Path) -> None:
    entry = tmp_path / "float.json"
    entry.write_text('{"type": "inventory", "scope1TCO2e": 1.5}')
    result = run_cli(
        "submit", "--key", str(key_file), "--org", "urn:x:a", "--ledger", "127.0.0.1:1", str(entry)
    )
    assert "must be a decimal string" in _one_line(result)


_ADMINISTER = [
    ["clients", "list"],
    ["clients", "add", "--org", "urn:x:a"],
    ["clients", "revoke", "c1"],
]


@pytest.mark.parametrize(
    ("command", "given"),
    [
        *((command, given) for command in _ADMINISTER for given in ("--db", "--data-dir")),
        (["audit", "--ledger-key", VKEY], "--db"),
    ],
    ids=lambda value: "-".join(value[:2]) if isinstance(value, list) else value,
)
def test_a_sqlite_store_that_does_not_exist_is_not_created(
    command: list[str], given: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent"
    where = f"sqlite:///{missing / 'x.db'}" if given == "--db" else str(missing)
    line = _one_line(run_cli(*command, given, where))
    expected = "no ledger data directory" if given == "--data-dir" else "no ledger store"
    assert str(missing) in line and expected in line
    assert not missing.exists()


def test_an_entry_file_may_name_its_org_without_an_entry_id(tmp_path: Path) -> None:
    """``org`` in the file (the documented entry shape) used to collide with
    ``new_entry``'s own argument when ``submit`` filled in the entryId."""
    org = "urn:pact:company:customcode:supplier"
    data = tmp_path / "data"
    with serving(data) as info, LedgerClient(info["grpc"]) as client:
        operator = OrgSigner(DEFAULT_OPERATOR_ORG, DataDir(data).operator_key())
        signer = enroll(client, operator, org, "supplier")
        key = tmp_path / "supplier.key"
        save_private_key(signer.private_key, key)
        entry = tmp_path / "inventory.json"
        entry.write_text(
            json.dumps(
                {
                    "type": "inventory",
                    "org": org,
                    "reportingYear": 2024,
                    "scope1TCO2e": "1",
                    "scope2TCO2e": "1",
                    "electricityMWh": "2",
                    "renewableElectricityMWh": "1",
                }
            )
        )
        result = run_cli(
            "submit",
            "--key",
            str(key),
            "--org",
            org,
            "--ledger",
            info["grpc"],
            "--json",
            str(entry),
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["seq"] >= 1
