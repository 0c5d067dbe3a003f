"""Offline ``.tlog-proof`` bundles under attack, through ``carbonledger verify-entry``: the
bundle is fetched from a real ledger and gateway (SQLite and PostgreSQL) whose witnesses
cosign over gRPC, then checked offline with the ledger's vkey and a tlog-policy. A
checkpoint forked under a second ledger key is refused; a stale witness is named as
missing by a 2-of-2 policy (a 1-of-2 one passes); a cosignature copied from another
checkpoint does not count."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from clients.audit.rpc import LedgerRpc
from clients.verify_entry_cli import verify_entry
from ledger.keys import new_private_key
from ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from ledger.note.signed_note import Signature
from ledger.note.tlog_proof import TlogProof
from tests.ledger_fixtures import SUPPLIER
from tests.test_audit_policy import cosign, policy_text
from tests.test_gateway_support import Env, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


def _verify(*args: str) -> Result:
    return CliRunner().invoke(verify_entry, list(args))


def _fetch_bundle(env: Env, seq: int, path: Path) -> None:
    client_id, secret = env.credentials(SUPPLIER)
    written = _verify(
        *("--gateway", env.url, "--client-id", client_id, "--client-secret", secret),
        *("--ledger-key", env.server.vkey, "--write-proof", str(path), str(seq)),
    )
    assert written.exit_code == 0, written.output


def _with_checkpoint(bundle: Path, note: str, out: Path) -> Path:
    parsed = TlogProof.parse(bundle.read_text())
    out.write_text(TlogProof(parsed.index, parsed.proof, note, parsed.extra).to_text())
    return out


def test_bundles_under_attack_are_refused(tmp_path: Path, db_url: str) -> None:
    w1, w2 = (CosignatureSigner(f"{n}.example", new_private_key()) for n in ("w1", "w2"))
    witnesses = {"w1": w1, "w2": w2}
    bundle, policy = tmp_path / "entry.tlog-proof", tmp_path / "policy"
    with environment(tmp_path, db_url, witnesses=(w1.vkey, w2.vkey)) as env:
        vkey = env.server.vkey
        rpc = LedgerRpc(env.server.grpc_target)
        _, receipt = env.footprint(SUPPLIER, PRODUCT)
        env.server.checkpointer.refresh()
        older = rpc.checkpoint_note()
        cosign(rpc, vkey, w1)  # w1 cosigns this checkpoint, then stops: a stale witness
        stale_line = rpc.checkpoint_note().removeprefix(older)
        env.footprint(SUPPLIER, PRODUCT + "-2")
        env.server.checkpointer.refresh()
        cosign(rpc, vkey, w2)
        _fetch_bundle(env, receipt.seq, bundle)
        rpc.close()
        # Online, verify-entry words the refusal as the offline check and the audit do.
        policy.write_text(policy_text(vkey, witnesses, "group both all w1 w2", "quorum both"))
        client_id, secret = env.credentials(SUPPLIER)
        online = _verify(
            *("--gateway", env.url, "--client-id", client_id, "--client-secret", secret),
            *("--ledger-key", vkey, "--policy", str(policy), "--json", str(receipt.seq)),
        )
        assert online.exit_code == 1, online.output
        assert json.loads(online.output)["reason"] == (
            "the checkpoint does not satisfy the witness policy: "
            "quorum 2-of-2 not met: cosigned by w2; missing w1"
        )
    seq = str(receipt.seq)
    note = TlogProof.parse(bundle.read_text()).checkpoint
    checkpoint = open_checkpoint(note, NoteVerifier.from_vkey(vkey))

    def offline(*args: str) -> Result:
        return _verify("--proof", *args, "--ledger-key", vkey, "--policy", str(policy), seq)

    # The stale witness: the bundle's checkpoint carries w2's line only.
    policy.write_text(policy_text(vkey, witnesses, "group both all w1 w2", "quorum both"))
    stale = offline(str(bundle))
    assert stale.exit_code == 1, stale.output
    assert "quorum 2-of-2 not met: cosigned by w2; missing w1" in stale.output
    policy.write_text(policy_text(vkey, witnesses, "group either any w1 w2", "quorum either"))
    either = offline(str(bundle), "--json")
    assert either.exit_code == 0, either.output
    assert json.loads(either.output)["cosigners"] == ["w2"]

    # w1's line copied from the older checkpoint: a known key's signature that does not
    # verify over this checkpoint rejects the note (c2sp.org/signed-note), so it never
    # counts, not even towards a 1-of-2 quorum it would otherwise meet alone.
    assert stale_line.startswith("— w1.example ")
    copied = _with_checkpoint(bundle, note + stale_line, tmp_path / "copied.tlog-proof")
    refused = offline(str(copied))
    assert refused.exit_code == 1 and "w1.example does not verify" in refused.output
    policy.write_text(policy_text(vkey, witnesses, "group both all w1 w2", "quorum both"))
    assert "w1.example does not verify" in offline(str(copied)).output

    # A fork: a second key under the ledger's own name signs a checkpoint of the same
    # origin over another tree. With the ledger's vkey it is refused, with or without
    # a policy, whether its key ID is its own or the real key's.
    policy.write_text(policy_text(vkey, witnesses, "quorum none"))
    impostor = NoteSigner(env.server.signer.name, new_private_key())
    forked_tree = Checkpoint(checkpoint.origin, checkpoint.size, bytes(32))
    forks = {
        "no verified signature from a known key": sign_checkpoint(forked_tree, impostor),
        f"signature by known key {impostor.name} does not verify": forked_tree.to_text()
        + "\n"
        + Signature(
            impostor.name,
            NoteVerifier.from_vkey(vkey).key_hash,
            impostor.sign(forked_tree.to_text()).signature,
        ).to_line(),
    }
    for what, forged in forks.items():  # what: the reason given
        path = _with_checkpoint(bundle, forged, tmp_path / "forked.tlog-proof")
        for extra in ((), ("--policy", str(policy))):
            out = _verify("--proof", str(path), "--ledger-key", vkey, *extra, seq)
            assert out.exit_code == 1, (what, out.output)
            assert what in out.output, out.output
    genuine = _verify("--proof", str(bundle), "--ledger-key", vkey, seq)
    assert genuine.exit_code == 0, genuine.output
