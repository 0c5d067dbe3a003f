"""c2sp.org/tlog-proof bundles of entries and c2sp.org/tlog-policy witness quorums,
without a server: a bundle built from a real signed checkpoint (with witness
cosignatures) verifies offline with only the ledger's vkey and a policy; every part of
it edited, and every malformed policy, is refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ledger.canonical import canonicalize
from ledger.cosignatures import with_cosignatures
from ledger.entry_proof import EntryProofError, entry_proof, open_entry_proof
from ledger.keys import key_id, new_private_key, public_key_bytes
from ledger.merkle import MerkleTree
from ledger.note import (
    Checkpoint,
    CosignatureSigner,
    InvalidPolicyError,
    InvalidProofError,
    NoteSigner,
    PolicyNotSatisfiedError,
    sign_checkpoint,
)
from ledger.note.signed_note import b64encode
from ledger.note.tlog_policy import TlogPolicy
from ledger.note.tlog_proof import TlogProof
from ledger.record import GENESIS_CHAIN_HASH, Record, entry_hash

ORIGIN = "carbonledger.test/log"


@dataclass
class Log:
    ledger: NoteSigner
    witnesses: dict[str, CosignatureSigner]
    records: list[Record]
    entries: list[bytes]
    signer_public: bytes
    note: str

    def bundle(self, seq: int) -> str:
        tree = MerkleTree(r.leaf_hash() for r in self.records)
        proof = tree.inclusion_proof(seq, tree.size)
        return entry_proof(self.records[seq], self.entries[seq], proof, self.note).to_text()


def _log(size: int = 7, cosigners: tuple[str, ...] = ("w1", "w2")) -> Log:
    signer = new_private_key()
    public = public_key_bytes(signer)
    records, entries, prev = [], [], GENESIS_CHAIN_HASH
    for seq in range(size):
        entry = canonicalize({"type": "note", "org": "urn:x:supplier", "n": seq})
        stamp = 1_767_225_600_000_000 + seq
        record = Record(seq, stamp, prev, entry_hash(entry), key_id(public), signer.sign(entry))
        records.append(record)
        entries.append(entry)
        prev = record.chain_hash()
    ledger = NoteSigner(ORIGIN, new_private_key())
    checkpoint = Checkpoint(ORIGIN, size, MerkleTree(r.leaf_hash() for r in records).root())
    witnesses = {
        name: CosignatureSigner(f"{name}.example", new_private_key()) for name in cosigners
    }
    lines = [w.cosign(checkpoint.to_text(), 1_767_225_700) for w in witnesses.values()]
    note = with_cosignatures(sign_checkpoint(checkpoint, ledger), lines)
    return Log(ledger, witnesses, records, entries, public, note)


def _policy(log: Log, quorum: str, extra: tuple[str, ...] = ()) -> TlogPolicy:
    lines = [f"log {log.ledger.vkey}"]
    lines += [f"witness {name} {w.vkey}" for name, w in log.witnesses.items()]
    return TlogPolicy.parse("\n".join([*lines, *extra, f"quorum {quorum}", ""]))


def test_a_bundle_verifies_offline_with_the_vkey_and_a_policy() -> None:
    log = _log()
    text = log.bundle(3)
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 3\n" in text and text.endswith(log.note)
    proven = open_entry_proof(text, log.ledger.verifier(), signer_public_key=log.signer_public)
    assert proven.record == log.records[3] and proven.entry == log.entries[3]
    assert proven.checkpoint.size == 7 and proven.signature_checked
    assert proven.entry_object()["n"] == 3
    both = _policy(log, "both", ("group both all w1 w2",))
    assert open_entry_proof(text, log.ledger.verifier(), both).cosigners == ("w1", "w2")
    assert not open_entry_proof(text, log.ledger.verifier(), both).signature_checked
    assert TlogProof.parse(text).to_text() == text
    single = _log(1)  # a tree of one leaf: an empty proof
    assert open_entry_proof(single.bundle(0), single.ledger.verifier()).record.seq == 0


def _edit_extra(change: Callable[[bytes], bytes]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        parsed = TlogProof.parse(text)
        assert parsed.extra is not None
        changed = TlogProof(parsed.index, parsed.proof, parsed.checkpoint, change(parsed.extra))
        return changed.to_text()

    return edit


EDITS: dict[str, Callable[[str], str]] = {
    "entry byte": _edit_extra(lambda e: e[:-2] + b"9" + e[-1:]),
    "leaf timestamp": _edit_extra(lambda e: e[:16] + bytes([e[16] ^ 1]) + e[17:]),
    "leaf version": _edit_extra(lambda e: b"\x02" + e[1:]),
    "leaf cut": _edit_extra(lambda e: e[:100]),
    "index": lambda t: t.replace("\nindex 3\n", "\nindex 4\n"),
    "proof hash": lambda t: t.replace(
        "\nindex 3\n", "\nindex 3\n" + b64encode(b"\x01" * 32) + "\n"
    ),
    "root": lambda t: t.replace(t.split("\n")[-5], b64encode(b"\x02" * 32)),
    "no extra": lambda t: "\n".join(line for line in t.split("\n") if "extra" not in line),
    "header": lambda t: t.replace("@v1", "@v2", 1),
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_an_edited_bundle_is_refused(what: str) -> None:
    log = _log()
    edited = EDITS[what](log.bundle(3))
    with pytest.raises(EntryProofError) as refused:
        open_entry_proof(edited, log.ledger.verifier(), signer_public_key=log.signer_public)
    assert str(refused.value)


def test_wrong_keys_and_unmet_quorums_are_refused() -> None:
    log = _log(cosigners=("w1",))
    text = log.bundle(2)
    stranger = NoteSigner(ORIGIN, new_private_key()).verifier()
    with pytest.raises(EntryProofError, match="does not verify"):
        open_entry_proof(text, stranger)
    other = _log()
    with pytest.raises(EntryProofError, match="signer key"):
        open_entry_proof(text, log.ledger.verifier(), signer_public_key=other.signer_public)
    absent = CosignatureSigner("w9.example", new_private_key())
    unmet = _policy(log, "two", (f"witness w9 {absent.vkey}", "group two 2 w1 w9"))
    with pytest.raises(EntryProofError, match="quorum"):
        open_entry_proof(text, log.ledger.verifier(), unmet)
    met = _policy(log, "one", (f"witness w9 {absent.vkey}", "group one any w1 w9"))
    assert open_entry_proof(text, log.ledger.verifier(), met).cosigners == ("w1",)
    foreign = TlogPolicy.parse(f"log {other.ledger.vkey}\nquorum none\n")
    with pytest.raises(EntryProofError, match="not signed by a log of the policy"):
        open_entry_proof(text, log.ledger.verifier(), foreign)
    # No log lines: the ledger is known from elsewhere (its vkey), only the quorum counts.
    known = TlogPolicy.parse(f"witness w1 {log.witnesses['w1'].vkey}\nquorum w1\n")
    assert open_entry_proof(text, log.ledger.verifier(), known).cosigners == ("w1",)
    with pytest.raises(PolicyNotSatisfiedError):
        known.check(log.note)  # no log known from elsewhere either


def test_policy_files_are_parsed_strictly() -> None:
    log = _log()
    w1, w2 = (log.witnesses[n].vkey for n in ("w1", "w2"))
    good = TlogPolicy.parse(
        f"  # comment\n\nlog {log.ledger.vkey} https://x.example/\n"
        f"witness w1\t{w1}\nwitness w2 {w2} https://w2.example/\n"
        "group g 2 w1 w2\ngroup top any g\nquorum top\n"
    )
    assert good.quorum == "top" and good.groups["g"].threshold == 2
    assert good.check(log.note) == ("w1", "w2")
    bad = {
        "no quorum": f"witness w1 {w1}\n",
        "two quorums": "quorum none\nquorum none\n",
        "undefined quorum": "quorum w1\n",
        "used before defined": f"group g any w1\nwitness w1 {w1}\nquorum g\n",
        "duplicate witness key": f"witness a {w1}\nwitness b {w1}\nquorum none\n",
        "duplicate name": f"witness a {w1}\nwitness a {w2}\nquorum none\n",
        "threshold 0": f"witness a {w1}\ngroup g 0 a\nquorum g\n",
        "threshold above n": f"witness a {w1}\ngroup g 2 a\nquorum g\n",
        "member twice": f"witness a {w1}\ngroup g any a a\nquorum g\n",
        "none as member": f"witness a {w1}\ngroup g any a none\nquorum g\n",
        "none as name": f"witness none {w1}\nquorum none\n",
        "witness key as log": f"log {w1}\nquorum none\n",
        "log key as witness": f"witness a {log.ledger.vkey}\nquorum none\n",
        "unknown keyword": "quorom none\n",
        "control character": "quorum none\r\n",
        "threshold of 5000 digits": f"witness a {w1}\ngroup g {'9' * 5000} a\nquorum g\n",
    }
    for name, text in bad.items():
        with pytest.raises(InvalidPolicyError):
            TlogPolicy.parse(text)
        assert name
    absent = CosignatureSigner("a", new_private_key()).vkey
    with pytest.raises(PolicyNotSatisfiedError):
        TlogPolicy.parse(f"witness a {absent}\nquorum a\n").check(log.note)


@pytest.mark.parametrize(
    "text",
    [
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
        f"c2sp.org/tlog-proof@v1\nindex {'9' * 5000}\n\nx\n",
        f"c2sp.org/tlog-proof@v1\nindex 1{'0' * 20}\n\nx\n",
        "c2sp.org/tlog-proof@v1\nindex -1\n\nx\n",
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx\n",
        "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
        f"c2sp.org/tlog-proof@v1\nindex 1\n{b64encode(bytes(32))}",
        "c2sp.org/tlog-proof@v1\nextra AA==\n\nx\n",
        "c2sp.org/tlog-proof@v1\nindex 1\n\n",
        "tlog-proof@v1\nindex 1\n\nx\n",
    ],
)
def test_malformed_proof_texts_are_refused(text: str) -> None:
    with pytest.raises(InvalidProofError):
        TlogProof.parse(text)
