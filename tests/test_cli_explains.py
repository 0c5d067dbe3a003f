"""Issue 16, item 3: a command line that explains itself, against a real ``serve``.

Real ``carbonledger`` processes: the data directory found from ``--data-dir`` or
``CARBONLEDGER_DATA_DIR`` (or a clear error naming both), ``ledger-key``,
``witness-key``, ``ready``, ``factors publish``, ``org list``, ``submit`` (entries
with and without ``org``/``entryId``, its outputs and its progress bar on a
terminal), ``verify-entry``'s one-line errors and consistent verdicts, and
``witness`` naming what it vouches for.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clients.sdk import LedgerClient
from tests.cli_process import CLI, closed_port, run_cli, serving

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
DISMANTLER = "urn:pact:company:customcode:dismantler"
BUYER = "urn:pact:company:customcode:buyer"
BLACK_MASS = "urn:pact:product:dismantler:black-mass"
USAGE, REFUSED, UNREACHABLE, CREDENTIALS = 2, 1, 3, 4
NO_DATA_DIR_ENV = {"CARBONLEDGER_DATA_DIR": ""}  # click reads an empty variable as unset


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A served ledger with the default factor set, the dismantler's black mass and a
    buyer holding a summary-level grant for it (and gateway credentials)."""
    home = tmp_path_factory.mktemp("explains")
    data = home / "data"
    with serving(data) as info:
        env = {"CARBONLEDGER_DATA_DIR": str(data)}
        at = ("--ledger", info["grpc"])
        _ok(run_cli("factors", "publish", "--default", *at, env=env))
        for org, role in ((DISMANTLER, "supplier"), (BUYER, "buyer")):
            key = home / f"{role}.key"
            _ok(run_cli("keys", "new", "--out", str(key)))
            enrol = ("org", "enroll", "--org", org, "--name", role, "--role", role)
            _ok(run_cli(*enrol, "--public-key", f"{key}.pub", *at, env=env))
        grant = home / "grant.json"
        grant.write_text(
            json.dumps(
                {
                    "type": "grant",
                    "org": DISMANTLER,
                    "grantee": BUYER,
                    "productId": BLACK_MASS,
                    "level": "summary",
                }
            )
        )
        supplier = ("submit", "--key", str(home / "supplier.key"), *at)
        footprint_seq = int(_ok(run_cli(*supplier, "-q", str(EXAMPLES / "black-mass.json"))))
        _ok(run_cli(*supplier, str(grant)))
        client = json.loads(_ok(run_cli("clients", "add", "--org", BUYER, env=env)))
        yield {
            **info,
            "data": data,
            "home": home,
            "env": env,
            "supplier": supplier,
            "footprint_seq": footprint_seq,
            "buyer": ("--client-id", client["clientId"], "--client-secret", client["clientSecret"]),
        }


def test_a_command_away_from_the_data_directory_says_what_to_set(
    ledger: dict[str, Any], tmp_path: Path
) -> None:
    listed = run_cli("org", "list", cwd=tmp_path, env=NO_DATA_DIR_ENV)
    line = _one_line(listed, USAGE)
    assert "--data-dir" in line and "CARBONLEDGER_DATA_DIR" in line
    added = run_cli("clients", "add", "--org", BUYER, cwd=tmp_path, env=NO_DATA_DIR_ENV)
    assert "CARBONLEDGER_DATA_DIR" in _one_line(added, USAGE)
    key = run_cli("ledger-key", cwd=tmp_path, env=NO_DATA_DIR_ENV)
    assert "CARBONLEDGER_DATA_DIR" in _one_line(key, USAGE)
    # From anywhere, the environment variable finds it; the key is serve's banner's.
    found = _ok(run_cli("ledger-key", cwd=tmp_path, env=ledger["env"]))
    assert found.strip() == ledger["ledger-key"]
    by_option = _ok(run_cli("ledger-key", "--data-dir", str(ledger["data"]), cwd=tmp_path))
    assert by_option == found


def test_org_list_shows_roles_and_company_ids(ledger: dict[str, Any]) -> None:
    orgs = [
        json.loads(line)
        for line in _ok(run_cli("org", "list", "--json", env=ledger["env"])).splitlines()
    ]
    by_org = {org["org"]: org for org in orgs}
    assert by_org[DISMANTLER]["roles"] == ["supplier"]
    assert by_org[DISMANTLER]["companyIds"] == [DISMANTLER]
    assert by_org[BUYER]["roles"] == ["buyer"] and by_org[BUYER]["hasSigningKey"] is True
    assert [org["enrolledSeq"] for org in orgs] == sorted(org["enrolledSeq"] for org in orgs)
    text = _ok(run_cli("org", "list", env=ledger["env"]))
    assert re.search(
        rf"^{re.escape(BUYER)} .*roles: buyer .*companies: {re.escape(BUYER)}", text, re.M
    )


def test_factors_publish_is_the_operators_and_once_per_version(
    ledger: dict[str, Any], tmp_path: Path
) -> None:
    at = ("--ledger", ledger["grpc"])
    again = run_cli("factors", "publish", "--default", *at, env=ledger["env"])
    assert "ALREADY_EXISTS" in _one_line(again, REFUSED)
    neither = run_cli("factors", "publish", *at, env=ledger["env"])
    assert neither.returncode == USAGE and "--default" in neither.stderr
    own = tmp_path / "own.json"
    own.write_text(
        json.dumps(
            {
                "setId": "tour-test",
                "version": "1",
                "name": "A test set",
                "publisher": "tests",
                "factors": [
                    {
                        "key": "steam",
                        "value": "0.29",
                        "unit": "kilogram",
                        "region": "CN",
                        "year": 2024,
                        "basis": "life-cycle",
                        "method": "test",
                        "source": "test",
                    }
                ],
            }
        )
    )
    receipt = json.loads(_ok(run_cli("factors", "publish", str(own), *at, env=ledger["env"])))
    with LedgerClient(ledger["grpc"]) as client:
        assert client.checkpoint().size > receipt["seq"]


def _inventory(year: int, **envelope: str) -> dict[str, Any]:
    return {
        "type": "inventory",
        **envelope,
        "reportingYear": year,
        "scope1TCO2e": "1",
        "scope2TCO2e": "2",
        "electricityMWh": "3",
        "renewableElectricityMWh": "1",
    }


def test_submit_takes_entries_with_or_without_org_and_entry_id(
    ledger: dict[str, Any], tmp_path: Path
) -> None:
    supplier = ledger["supplier"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(_inventory(2020)))
    # No org in the file and no --org: nothing to sign as, refused before sending.
    line = _one_line(run_cli(*supplier, str(bare)), USAGE)
    assert "--org" in line
    # A file naming another org than --org is refused before anything is sent.
    named = tmp_path / "named.json"
    named.write_text(json.dumps(_inventory(2021, org=DISMANTLER)))
    with LedgerClient(ledger["grpc"]) as client:
        size = client.checkpoint().size
    mismatch = run_cli(*supplier, "--org", BUYER, str(named), str(bare))
    assert DISMANTLER in _one_line(mismatch, USAGE)
    with LedgerClient(ledger["grpc"]) as client:
        assert client.checkpoint().size == size  # nothing partial was written
    # With org in the file, or with --org: recorded, each reported with its entry id.
    printed = _ok(run_cli(*supplier, str(named)))
    match = re.fullmatch(r"seq (\d+): inventory ([0-9a-f-]{36}) recorded\n", printed)
    assert match, printed
    _ok(run_cli(*supplier, "--org", DISMANTLER, str(bare)))
    # The printed entry id is what makes a resubmission idempotent.
    with_id = tmp_path / "with-id.json"
    with_id.write_text(json.dumps({**_inventory(2021, org=DISMANTLER), "entryId": match[2]}))
    again = _ok(run_cli(*supplier, str(with_id)))
    assert again == f"seq {match[1]}: inventory {match[2]} was already recorded\n"
    receipt = json.loads(_ok(run_cli(*supplier, "--json", str(with_id))))
    assert receipt["seq"] == int(match[1]) and receipt["entryId"] == match[2]
    assert _ok(run_cli(*supplier, "--quiet", str(with_id))) == f"{match[1]}\n"


def test_submit_shows_progress_on_a_terminal(ledger: dict[str, Any], tmp_path: Path) -> None:
    many = tmp_path / "many.json"
    many.write_text(json.dumps([_inventory(2000 + i, org=DISMANTLER) for i in range(5)]))
    controller, terminal = pty.openpty()
    # A terminal of 24 rows and 100 columns (a new pty has none, and no room for a bar).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.run(
            [*CLI, *ledger["supplier"], str(many)],
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ),
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 5  # receipts stay on stdout, bar-free
    assert b"5/5" in shown and b"entry" in shown
    # Not on a terminal: no bar at all.
    plain = run_cli(*ledger["supplier"], str(many))
    assert plain.returncode == 0 and plain.stderr == ""


def _verify(ledger: dict[str, Any], *args: str, gateway: str | None = None) -> Any:
    return run_cli(
        "verify-entry",
        *("--gateway", gateway or ledger["http"], "--ledger-key", ledger["ledger-key"]),
        *args,
    )


def test_verify_entry_names_the_cause_of_a_failure(ledger: dict[str, Any]) -> None:
    seq = str(ledger["footprint_seq"])
    summary = _one_line(_verify(ledger, *ledger["buyer"], seq), REFUSED)
    assert f"entry {seq} is not visible" in summary and "detail-level grant" in summary
    client_id = ledger["buyer"][1]
    wrong = _verify(ledger, "--client-id", client_id, "--client-secret", "wrong", seq)
    line = _one_line(wrong, CREDENTIALS)
    assert f"did not accept client {client_id}: wrong client id or secret" in line
    gone = f"http://127.0.0.1:{closed_port()}"
    unreachable = _one_line(_verify(ledger, *ledger["buyer"], seq, gateway=gone), UNREACHABLE)
    assert f"cannot reach the gateway at {gone}" in unreachable and "--gateway" in unreachable


def test_verify_entry_text_and_json_say_the_same_of_the_signer_key(
    ledger: dict[str, Any],
) -> None:
    added = _ok(run_cli("clients", "add", "--org", DISMANTLER, "--export", env=ledger["env"]))
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", added, re.M))
    owner = ("--client-id", exports["CARBONLEDGER_CLIENT_ID"])
    owner += ("--client-secret", exports["CARBONLEDGER_CLIENT_SECRET"])
    seq = str(ledger["footprint_seq"])
    verdict = json.loads(_ok(_verify(ledger, *owner, "--json", seq)))
    assert verdict["ok"] is True and verdict["signerKeyProvenInLog"] is False
    assert verdict["signerKeySource"] == "gateway"
    text = _ok(_verify(ledger, *owner, seq))
    assert text.startswith(f"OK: seq {seq} (footprint by {DISMANTLER})")
    assert "not proven in the log" in text
    public = (ledger["home"] / "supplier.key.pub").read_text().strip()
    given = _ok(_verify(ledger, *owner, "--signer-key", public, seq))
    assert "with the key given with --signer-key" in given
    given_json = json.loads(_ok(_verify(ledger, *owner, "--signer-key", public, "--json", seq)))
    assert given_json["signerKeySource"] == "given"
    # The exported credentials are what token reads from the environment.
    env = {**exports, **ledger["env"]}
    token = _ok(run_cli("token", "--gateway", ledger["http"], env=env)).strip()
    assert token.count(".") == 2  # a JWT, alone on the line


def test_ready_waits_for_a_serving_ledger_or_names_it(ledger: dict[str, Any]) -> None:
    up = _ok(run_cli("ready", "--ledger", ledger["grpc"], "--gateway", ledger["http"]))
    assert up.startswith("ready:")
    nobody = f"127.0.0.1:{closed_port()}"
    down = run_cli("ready", "--ledger", nobody, "--gateway", ledger["http"], "--timeout", "0.5")
    line = _one_line(down, UNREACHABLE)
    assert nobody in line and "--ledger" in line


def test_witness_says_what_it_vouches_for(tmp_path: Path) -> None:
    key = tmp_path / "witness.key"
    _ok(run_cli("keys", "new", "--out", str(key)))
    vkey = _ok(run_cli("witness-key", "--key", str(key))).strip()
    with serving(tmp_path / "data", "--witness", vkey) as served:
        witness = (
            *("witness", "pull", "--ledger", served["grpc"]),
            *("--ledger-key", served["ledger-key"]),
            *("--key", str(key), "--state", str(tmp_path / "state")),
        )
        first = _ok(run_cli(*witness))
        assert f"witness-key: {vkey}" in first  # witness-key printed the same vkey
        assert "(the first checkpoint this witness has cosigned)" in first and "None" not in first
        size = re.search(r"cosigned size (\d+)", first)
        assert size is not None
        second = _ok(run_cli(*witness))
        assert f"consistent with size {size[1]}, cosigned before" in second


def test_every_command_is_in_the_api_doc() -> None:
    from clients.cli import main

    doc = (ROOT / "docs" / "api.md").read_text()
    names: list[str] = []
    for name, command in main.commands.items():
        subs = getattr(command, "commands", None) or {}
        names.extend([f"carbonledger {name} {sub}" for sub in subs] or [f"carbonledger {name}"])
    missing = [name for name in names if f"`{name}" not in doc]
    assert missing == [], missing
