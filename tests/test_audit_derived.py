"""Insider changes to what the ledger serves, caught by ``audit --db`` and ``fsck``.

Each test populates a real server (SQLite file and PostgreSQL), audits it,
stops it, changes stored data with SQL as an insider with database access
could, and runs the commands as a user would (click's runner, real databases):
derived tables (check 9), Merkle nodes (check 9), already-audited records
re-checked by an incremental audit (check 10), and the PACT view a running
gateway serves (check 11).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from clients.audit.replica import ReplicaCarbonView
from clients.audit_cli import audit
from clients.fsck_cli import fsck_command
from ledger.keys import save_private_key
from ledger.rules.view import CarbonView
from tests.ledger_fixtures import AUDITOR, SUPPLIER
from tests.test_audit_mix import index_rows
from tests.test_audit_tamper import audited_ledger, engine
from tests.test_gateway_support import SUPPLIER_B, environment


def run_audit(*args: str) -> Result:
    return CliRunner().invoke(audit, [*args, "--workers", "1"])


def run_fsck(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(fsck_command, ["--db", db_url, "--workers", "1", *args])


def sql(db_url: str, statement: str, **params: Any) -> None:
    with engine(db_url) as eng, eng.begin() as conn:
        changed = conn.execute(text(statement), params).rowcount
    assert changed, f"the tampering changed nothing: {statement}"


TAMPERING = {
    "deleted": (
        "DELETE FROM footprint WHERE footprint_id = :f",
        "row missing from the database",
    ),
    "inactive": (
        "UPDATE footprint SET active = false WHERE footprint_id = :f",
        "column active: stored False, replay True",
    ),
    "value": (
        "UPDATE footprint SET declared_unit = 'liter' WHERE footprint_id = :f",
        "column declared_unit: stored 'liter', replay 'kilowatt hour'",
    ),
}


@pytest.mark.parametrize("change", sorted(TAMPERING))
def test_derived_footprint_row_changed(tmp_path: Path, db_url: str, change: str) -> None:
    ledger, vkey, _ = audited_ledger(tmp_path, db_url)
    before = index_rows(db_url)
    statement, said = TAMPERING[change]
    sql(db_url, statement, f=ledger.footprint_id)
    where = f"table footprint, key (footprint_id='{ledger.footprint_id}'): {said}"

    report = run_audit("--db", db_url, "--ledger-key", vkey, "--json")
    assert report.exit_code == 1, report.output
    reasons = [f["reason"] for f in json.loads(report.output)["failures"]]
    assert [r for r in reasons if r.startswith(where)] == reasons, reasons
    checked = run_fsck(db_url)
    assert checked.exit_code == 1 and where in checked.output, checked.output

    repaired = run_fsck(db_url, "--repair")
    assert repaired.exit_code == 0, repaired.output
    verb = "inserted" if change == "deleted" else "updated"
    assert f"footprint: {int(verb == 'inserted')} inserted, 0 deleted" in repaired.output
    assert f"{verb} footprint_id='{ledger.footprint_id}'" in repaired.output
    assert index_rows(db_url) == before
    again = run_fsck(db_url)
    assert again.exit_code == 0 and "OK" in again.output, again.output
    assert run_audit("--db", db_url, "--ledger-key", vkey).exit_code == 0


def test_extra_derived_row_is_named_and_removed(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, _ = audited_ledger(tmp_path, db_url)
    before = index_rows(db_url)
    sql(
        db_url,
        "INSERT INTO access_grant (entry_id, seq, grantor, grantee, level, inventory) "
        "VALUES ('00000000-0000-4000-8000-000000000000', 1, :g, :e, 'detail', false)",
        g=ledger.supplier.org,
        e=ledger.buyer.org,
    )
    where = "table access_grant, key (entry_id='00000000-0000-4000-8000-000000000000')"
    report = run_audit("--db", db_url, "--ledger-key", vkey)
    assert report.exit_code == 1 and f"{where}: extra row" in report.output, report.output
    repaired = run_fsck(db_url, "--repair")
    assert "access_grant: 0 inserted, 1 deleted, 0 updated" in repaired.output, repaired.output
    assert index_rows(db_url) == before


def test_flipped_merkle_node(tmp_path: Path, db_url: str) -> None:
    _, vkey, _ = audited_ledger(tmp_path, db_url)
    sql(db_url, "UPDATE merkle_node SET hash = :h WHERE level = 1 AND idx = 2", h=b"\x07" * 32)
    report = run_audit("--db", db_url, "--ledger-key", vkey, "--from-scratch")
    assert report.exit_code == 1, report.output
    assert "[merkle-node] log: merkle_node (level 1, index 2): stored 0707" in report.output
    checked = run_fsck(db_url, "--repair")
    assert checked.exit_code == 1 and "merkle_node (level 1, index 2)" in checked.output
    assert "never rebuilt" in checked.output


def _entry(db_url: str, seq: int) -> tuple[bytes, bytes]:
    with engine(db_url) as eng, eng.connect() as conn:
        row = conn.execute(
            text("SELECT entry, signature FROM record WHERE seq = :s"), {"s": seq}
        ).one()
    return bytes(row.entry), bytes(row.signature)


def test_incremental_audit_samples_an_edited_entry(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    seq = ledger.seqs["gec"]
    entry, _ = _entry(db_url, seq)
    edited = entry.replace(b"GEC202400001575", b"GEC202400001574")
    sql(db_url, "UPDATE record SET entry = :e WHERE seq = :s", e=edited, s=seq)
    args = ["--db", db_url, "--ledger-key", vkey, "--state", str(state), "--json"]
    report = run_audit(*args)
    assert report.exit_code == 1, report.output
    out = json.loads(report.output)
    assert out["incremental"] and out["sampled"]["count"] == out["checkpoint"]["size"]
    assert [(f["check"], f["seq"]) for f in out["failures"]] == [("sample", seq)]


def test_incremental_audit_samples_swapped_entries(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    a, b = ledger.seqs["gec"], ledger.seqs["ccer"]
    (entry_a, sig_a), (entry_b, sig_b) = _entry(db_url, a), _entry(db_url, b)
    swap = "UPDATE record SET entry = :e, signature = :g WHERE seq = :s"
    sql(db_url, swap, e=entry_b, g=sig_b, s=a)
    sql(db_url, swap, e=entry_a, g=sig_a, s=b)
    report = run_audit("--db", db_url, "--ledger-key", vkey, "--state", str(state), "--json")
    assert report.exit_code == 1, report.output
    failures = json.loads(report.output)["failures"]
    assert sorted((f["check"], f["seq"]) for f in failures) == [("sample", a), ("sample", b)]


def test_gateway_view_altered_while_it_runs(tmp_path: Path, db_url: str) -> None:
    key_file = tmp_path / "auditor.key"
    with environment(tmp_path, db_url) as env:
        shown, _ = env.footprint(SUPPLIER, "urn:pact:product:audit:shown")
        hidden, _ = env.footprint(SUPPLIER, "urn:pact:product:audit:hidden")
        env.footprint(SUPPLIER_B, "urn:pact:product:audit:other")
        save_private_key(env.orgs[AUDITOR].private_key, key_file)
        client_id, secret = env.credentials(AUDITOR)
        args = [
            *("--ledger", env.server.grpc_target, "--ledger-key", env.server.vkey),
            *("--key", str(key_file), "--org", AUDITOR, "--gateway", env.url),
            *("--client-id", client_id, "--client-secret", secret, "--json"),
        ]
        honest = run_audit(*args)
        assert honest.exit_code == 0, honest.output

        sql(db_url, "DELETE FROM footprint WHERE footprint_id = :f", f=hidden)
        report = run_audit(*args)
        assert report.exit_code == 1, report.output
        reasons = [f["reason"] for f in json.loads(report.output)["failures"]]
        assert reasons == [f"footprint {hidden} is not served to the auditor"], reasons

        # Deactivated without a deprecation: the gateway itself refuses the row now (it
        # served it as "Deprecated" from a cached entry before), and the audit says so.
        sql(db_url, "UPDATE footprint SET active = false WHERE footprint_id = :f", f=shown)
        report = run_audit(*args)
    assert report.exit_code == 1, report.output
    assert "the gateway answered 500" in report.output, report.output
    assert "the footprint index does not match the record it names" in report.output


def test_the_replay_writes_every_update_the_rules_make() -> None:
    """The replica forwards each update of the ``CarbonView`` protocol to the SQL view;
    one it missed would leave its table empty and fail every ``audit --db``."""
    updates = {
        name for name in vars(CarbonView) if name.startswith(("add_", "deprecate_", "revoke_"))
    }
    assert updates, "the protocol lists its updates"
    assert {name for name in updates if name in vars(ReplicaCarbonView)} == updates
