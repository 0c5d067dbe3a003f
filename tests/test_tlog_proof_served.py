"""``GET /v1/entries/{seq}/proof`` and ``carbonledger verify-entry`` with bundles, over
a real gateway on loopback (SQLite and PostgreSQL): a bundle is served to whoever may
read the entry and to no one else; written by ``--write-proof``, it verifies offline
with ``--proof`` and the ledger's vkey alone, and an edited one fails."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from clients.verify_entry_cli import verify_entry
from ledger.entry_proof import open_entry_proof
from ledger.keys import encode_public_key, new_private_key
from ledger.note import CosignatureSigner, NoteVerifier
from ledger.note.tlog_proof import TlogProof
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import Env, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


def test_bundles_are_served_per_access_rules_and_verify(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _, receipt = env.footprint(SUPPLIER, PRODUCT)
        seq = receipt.seq
        path = f"/v1/entries/{seq}/proof"
        with env.client(SUPPLIER) as owner, env.client(BUYER) as buyer:
            answer = owner.get(path)
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "text/plain; charset=utf-8"
            assert f'filename="{seq}.tlog-proof"' in answer.headers["content-disposition"]
            assert TlogProof.parse(answer.text).checkpoint == owner.get("/v1/checkpoint").text
            proven = open_entry_proof(
                answer.text,
                NoteVerifier.from_vkey(env.server.vkey),
                signer_public_key=env.orgs[SUPPLIER].public_key,
            )
            stored = env.server.store.record(seq)
            assert stored is not None
            assert (proven.record.seq, proven.entry) == (seq, stored.entry)
            assert proven.record.leaf_hash() == receipt.leaf_hash
            assert buyer.get(path).json()["code"] == "NotFound"
            assert owner.get("/v1/entries/999999/proof").status_code == 404
        with env.client(AUDITOR) as auditor, env.client() as anonymous:
            assert auditor.get(path).status_code == 200
            assert anonymous.get(path).status_code == 403


def _run(*args: str) -> Result:
    return CliRunner().invoke(verify_entry, list(args))


def _online(env: Env, *args: str) -> Result:
    client_id, secret = env.credentials(SUPPLIER)
    return _run(
        *("--gateway", env.url, "--client-id", client_id, "--client-secret", secret),
        *("--ledger-key", env.server.vkey),
        *args,
    )


def test_verify_entry_writes_and_reads_bundles(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _, receipt = env.footprint(SUPPLIER, PRODUCT)
        seq, vkey = str(receipt.seq), env.server.vkey
        signer = encode_public_key(env.orgs[SUPPLIER].public_key)
        bundle = tmp_path / "entry.tlog-proof"
        written = _online(env, "--write-proof", str(bundle), seq)
        assert written.exit_code == 0, written.output
        assert "signature verifies" in written.output
        text = bundle.read_text()
        assert text.startswith("c2sp.org/tlog-proof@v1\n")

    # Offline: the server is gone; the bundle and the vkey are all there is.
    checked = _run("--proof", str(bundle), "--ledger-key", vkey, "--signer-key", signer, seq)
    assert checked.exit_code == 0, checked.output
    assert f"OK: seq {seq} (footprint by {SUPPLIER})" in checked.output
    assert "signature verifies" in checked.output
    unsigned = _run("--proof", str(bundle), "--ledger-key", vkey, "--json")
    verdict = json.loads(unsigned.output)
    assert unsigned.exit_code == 0 and verdict["seq"] == int(seq)
    assert verdict["signatureChecked"] is False and verdict["cosigners"] == []

    other = _run("--proof", str(bundle), "--ledger-key", vkey, str(int(seq) + 1))
    assert other.exit_code == 1 and f"bundle is of seq {seq}" in other.output
    parsed = TlogProof.parse(text)
    assert parsed.extra is not None
    edited = tmp_path / "edited.tlog-proof"
    entry = parsed.extra[177:].replace(b'"71.4"', b'"11.4"', 1)
    assert entry != parsed.extra[177:]
    changed = TlogProof(parsed.index, parsed.proof, parsed.checkpoint, parsed.extra[:177] + entry)
    edited.write_text(changed.to_text())
    failed = _run("--proof", str(edited), "--ledger-key", vkey)
    assert failed.exit_code == 1 and "FAILED" in failed.output
    assert "entry bytes are not the leaf's entry" in failed.output
    edited.write_bytes(b"\xff\xfe")
    assert _run("--proof", str(edited), "--ledger-key", vkey).exit_code == 1

    witness = CosignatureSigner("w1.example", new_private_key())
    policy = tmp_path / "policy"
    policy.write_text(f"log {vkey}\nwitness w1 {witness.vkey}\nquorum w1\n")
    unmet = _run("--proof", str(bundle), "--ledger-key", vkey, "--policy", str(policy))
    assert unmet.exit_code == 1 and "quorum" in unmet.output
    policy.write_text("log nonsense\nquorum none\n")
    bad = _run("--proof", str(bundle), "--ledger-key", vkey, "--policy", str(policy))
    assert bad.exit_code == 2 and "policy line 1" in bad.output
    policy.write_text(f"log {vkey}\nquorum none\n")
    none = _run("--proof", str(bundle), "--ledger-key", vkey, "--policy", str(policy))
    assert none.exit_code == 0, none.output
    neither = _run("--ledger-key", vkey)
    assert neither.exit_code == 2 and "--proof FILE" in neither.output
    both = _run("--proof", str(bundle), "--ledger-key", vkey, "--gateway", "http://127.0.0.1:1")
    assert both.exit_code == 2 and "offline" in both.output
