"""``carbonledger audit --policy``: the audit refuses a checkpoint that does not meet a
C2SP tlog-policy's log key and witness quorum, naming who cosigned and who is missing
(text and JSON, exit 1), and accepts it once the quorum has cosigned. Real witness
cosignatures reach a real ledger over gRPC ``AddCosignature`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from clients.audit.rpc import LedgerRpc
from clients.audit_cli import audit
from clients.sdk import LedgerClient
from ledger.keys import new_private_key, save_private_key
from ledger.note import CosignatureSigner, NoteSigner, NoteVerifier, open_checkpoint
from tests.ledger_fixtures import enroll, operator_of, running_server

AUDITOR = "urn:pact:company:customcode:policy-auditor"


def _witnesses() -> dict[str, CosignatureSigner]:
    return {n: CosignatureSigner(f"{n}.example", new_private_key()) for n in ("w1", "w2", "w3")}


def policy_text(log_vkey: str | None, witnesses: dict[str, CosignatureSigner], *rest: str) -> str:
    """A tlog-policy listing ``log_vkey`` (if any) and ``witnesses`` by their policy names."""
    lines = [f"log {log_vkey}"] if log_vkey else []
    lines += [f"witness {name} {w.vkey}" for name, w in witnesses.items()]
    return "\n".join([*lines, *rest, ""])


def cosign(rpc: LedgerRpc, vkey: str, signer: CosignatureSigner, at: int = 1_767_225_700) -> None:
    """``signer`` cosigns the ledger's latest checkpoint, submitted over gRPC."""
    body = open_checkpoint(rpc.checkpoint_note(), NoteVerifier.from_vkey(vkey))
    rpc.add_cosignature(body.size, signer.cosign(body.to_text(), at))


def test_audit_refuses_a_checkpoint_without_the_policy_quorum(tmp_path: Path, db_url: str) -> None:
    witnesses = _witnesses()
    runner = CliRunner()
    key_file, policy = tmp_path / "auditor.key", tmp_path / "policy"
    state = tmp_path / "state"
    configured = tuple(w.vkey for w in witnesses.values())
    with (
        running_server(tmp_path / "data", db_url, witnesses=configured) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        auditor = enroll(client, operator_of(server), AUDITOR, "auditor")
        save_private_key(auditor.private_key, key_file)
        rpc = LedgerRpc(server.grpc_target)
        cosign(rpc, server.vkey, witnesses["w1"])
        args = [
            *("--ledger", server.grpc_target, "--ledger-key", server.vkey),
            *("--key", str(key_file), "--org", AUDITOR, "--state", str(state)),
            *("--policy", str(policy)),
        ]

        def run(*extra: str) -> Result:
            return runner.invoke(audit, [*args, *extra])

        policy.write_text(policy_text(server.vkey, witnesses, "group q 2 w1 w2 w3", "quorum q"))
        refused = run()
        assert refused.exit_code == 1, refused.output
        assert "quorum 2-of-3 not met: cosigned by w1; missing w2, w3" in refused.output
        assert "[witness-policy]" in refused.output
        as_json = run("--json")
        report = json.loads(as_json.output)
        assert as_json.exit_code == 1 and not report["ok"] and not report["stateSaved"]
        assert report["entriesChecked"] == 0 and report["cosigners"] is None
        (failure,) = report["failures"]
        assert failure["check"] == "witness-policy"
        assert failure["reason"].endswith("cosigned by w1; missing w2, w3")
        assert not (state / "audit-state.sqlite3").exists()

        # Nested groups name the unmet group with what it misses.
        policy.write_text(
            policy_text(
                server.vkey, witnesses, "group eu all w2 w3", "group q all w1 eu", "quorum q"
            )
        )
        nested = run()
        assert nested.exit_code == 1
        assert "quorum 2-of-2 not met: cosigned by w1; missing eu (2-of-2: missing w2, w3)" in (
            nested.output
        )

        cosign(rpc, server.vkey, witnesses["w2"])
        policy.write_text(policy_text(server.vkey, witnesses, "group q 2 w1 w2 w3", "quorum q"))
        met = run()
        assert met.exit_code == 0, met.output
        assert "witness quorum met (w1, w2)" in met.output and "OK: every check holds" in met.output
        report = json.loads(run("--json", "--from-scratch").output)
        assert report["ok"] and report["cosigners"] == ["w1", "w2"]
        # Without log lines the policy takes --ledger-key; the quorum still counts.
        policy.write_text(policy_text(None, witnesses, "quorum w3"))
        unmet = run()
        assert unmet.exit_code == 1
        assert "quorum w3 not met: cosigned by w1, w2; missing w3" in unmet.output
        rpc.close()


def test_audit_policy_files_that_cannot_be_used_are_usage_errors(
    tmp_path: Path, db_url: str
) -> None:
    witnesses = _witnesses()
    runner = CliRunner()
    policy = tmp_path / "policy"
    with running_server(tmp_path / "data", db_url) as server:
        vkey = server.vkey
    args = ["--db", db_url, "--ledger-key", vkey, "--policy", str(policy)]

    other = NoteSigner("carbonledger.local/log", new_private_key()).vkey
    policy.write_text(policy_text(other, witnesses, "quorum none"))
    contradicts = runner.invoke(audit, args)
    assert contradicts.exit_code == 2
    assert "not the --ledger-key" in contradicts.output and other in contradicts.output
    policy.write_text("log nonsense\nquorum none\n")
    invalid = runner.invoke(audit, args)
    assert invalid.exit_code == 2 and "policy line 1" in invalid.output
    policy.write_bytes(b"\xff\xfe")
    assert runner.invoke(audit, args).exit_code == 2
    policy.unlink()
    assert runner.invoke(audit, args).exit_code == 2
    # The ledger's own key and quorum none: the offline audit passes.
    policy.write_text(policy_text(vkey, witnesses, "quorum none"))
    passes = runner.invoke(audit, args)
    assert passes.exit_code == 0, passes.output
    assert "witness quorum met (none needed)" in passes.output
