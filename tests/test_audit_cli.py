"""``carbonledger audit`` end to end: exit status, JSON report, state, offline mode."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from clients.audit_cli import audit
from clients.sdk import LedgerClient
from clients.verify_entry_cli import verify_entry
from clients.witness_cli import witness
from ledger.keys import new_private_key, save_private_key
from ledger.note import NoteSigner
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.test_audit_mix import populate


def test_audit_command_over_grpc_then_offline(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    state = tmp_path / "state"
    key_file = tmp_path / "auditor.key"
    vkey_file = tmp_path / "ledger.vkey"
    with (
        running_server(tmp_path / "data", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        ledger = populate(client, server)
        save_private_key(ledger.auditor.private_key, key_file)
        vkey_file.write_text(f"ledger-key: {server.vkey}\n")
        online = [
            "--ledger",
            server.grpc_target,
            "--ledger-key",
            str(vkey_file),
            "--key",
            str(key_file),
            "--org",
            ledger.auditor.org,
            "--state",
            str(state),
        ]
        first = runner.invoke(audit, [*online, "--json"])
        assert first.exit_code == 0, first.output
        report = json.loads(first.output)
        assert report["ok"] and report["entriesChecked"] == report["checkpoint"]["size"]
        assert report["stateSaved"] and report["failures"] == []
        enroll(client, operator_of(server), "urn:pact:company:customcode:late", "buyer")
        second = runner.invoke(audit, online)
        assert second.exit_code == 0, second.output
        assert "incremental, 1 entries" in second.output and "OK" in second.output
        vkey = server.vkey

    offline = runner.invoke(audit, ["--db", db_url, "--ledger-key", vkey, "--state", str(state)])
    assert offline.exit_code == 0, offline.output
    (state / "audit-state.sqlite3").write_bytes(b"not a database")
    broken = runner.invoke(audit, ["--db", db_url, "--ledger-key", vkey, "--state", str(state)])
    assert broken.exit_code == 2 and "error:" in broken.output
    other = NoteSigner("carbonledger.local/log", new_private_key()).vkey
    wrong = runner.invoke(audit, ["--db", db_url, "--ledger-key", other, "--json"])
    assert wrong.exit_code == 1
    assert json.loads(wrong.output)["failures"][0]["check"] == "checkpoint-signature"


def test_audit_command_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    vkey = NoteSigner("x", new_private_key()).vkey
    both = runner.invoke(audit, ["--ledger", "h:1", "--db", "sqlite://", "--ledger-key", vkey])
    assert both.exit_code == 2 and "exactly one" in both.output
    no_key = runner.invoke(audit, ["--ledger", "h:1", "--ledger-key", vkey])
    assert no_key.exit_code == 2 and "--key" in no_key.output
    bad_vkey = runner.invoke(audit, ["--db", "sqlite://", "--ledger-key", "nonsense"])
    assert bad_vkey.exit_code == 2


def test_commands_register_in_a_group() -> None:
    group = click.Group("carbonledger")
    for command in (audit, witness, verify_entry):  # ``witness`` is itself a group
        group.add_command(command)
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0
    assert {"audit", "witness", "verify-entry"} <= set(group.commands)
