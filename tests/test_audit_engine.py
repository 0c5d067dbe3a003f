"""The pure verification engine on records built in memory: no server, no database.

These logs contain entries the sequencer would have refused, which is the
point: an auditor must name them even if a compromised ledger recorded them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from clients.audit.engine import Auditor, ReplayState
from clients.audit.model import AuditRecord, Check
from clients.audit.parallel import VerifierPool, check_items
from clients.audit.state import AuditStateStore, SavedCheckpoint, has_state
from clients.sdk import OrgSigner, new_entry
from ledger.canonical import parse_canonical
from ledger.entries.carbon import load_default_factors
from ledger.keys import encode_public_key, new_private_key
from ledger.record import GENESIS_CHAIN_HASH, Record, entry_hash
from ledger.rules import CarbonView, MemoryCarbonView, SerialSpan
from ledger.store.carbon_index import SqlCarbonView
from tests import carbon_builders as cb
from tests.test_audit_mix import retirement

OPERATOR = "urn:carbonledger:org:operator"
BUYER = "urn:pact:company:customcode:buyer-b"


@dataclass
class MemoryLog:
    """Signs and sequences entries exactly like the ledger, with no rules at all."""

    records: list[AuditRecord] = field(default_factory=list)
    chain: bytes = GENESIS_CHAIN_HASH

    def append(self, signer: OrgSigner, obj: dict[str, Any]) -> int:
        signed = signer.sign(obj)
        return self.append_raw(signed.entry, signed.key_id, signed.signature)

    def append_raw(self, entry: bytes, key_id: bytes, signature: bytes) -> int:
        seq = len(self.records)
        timestamp = 1_767_225_600_000_000 + seq
        rec = Record(seq, timestamp, self.chain, entry_hash(entry), key_id, signature)
        prev, self.chain = self.chain, rec.chain_hash()
        self.records.append(
            AuditRecord(seq, timestamp, entry, key_id, signature, prev, rec.leaf_hash(), self.chain)
        )
        return seq

    def enroll(self, operator: OrgSigner, org: str, *roles: str) -> OrgSigner:
        signer = OrgSigner(org, new_private_key())
        self.append(
            operator,
            new_entry(
                "org.enroll",
                operator.org,
                orgId=org,
                name="x",
                roles=list(roles),
                publicKey=encode_public_key(signer.public_key),
            ),
        )
        return signer


def genesis() -> tuple[MemoryLog, OrgSigner]:
    log = MemoryLog()
    operator = OrgSigner(OPERATOR, new_private_key())
    log.append(
        operator,
        new_entry(
            "org.enroll",
            OPERATOR,
            orgId=OPERATOR,
            name="op",
            roles=["operator"],
            publicKey=encode_public_key(operator.public_key),
        ),
    )
    return log, operator


def replay(records: list[AuditRecord], state: ReplayState | None = None) -> Auditor:
    with VerifierPool(1) as pool:
        auditor = Auditor(state or ReplayState(), pool)
        auditor.run([records[i : i + 3] for i in range(0, len(records), 3)])
    return auditor


def buyer_account(operator: str) -> dict[str, Any]:
    """The buyer's account at cn-gec, issued the serials these tests retire."""
    issued = [("GEC202400000001", "GEC202400009999")]
    return cb.registry_account(operator, "cn-gec", BUYER, serials=issued)


def test_clean_log_passes_and_root_is_the_tree_root() -> None:
    from ledger.merkle import MerkleTree

    log, operator = genesis()
    buyer = log.enroll(operator, BUYER, "buyer")
    log.append(operator, buyer_account(operator.org))
    log.append(buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400000010"))
    auditor = replay(log.records)
    assert auditor.failures == []
    tree = MerkleTree()
    for r in log.records:
        tree.append(r.leaf_hash)
    assert auditor.state.compact.root() == tree.root()


def test_serial_retired_twice_is_named() -> None:
    log, operator = genesis()
    buyer = log.enroll(operator, BUYER, "buyer")
    log.append(operator, buyer_account(operator.org))
    log.append(buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400000010"))
    twice = log.append(
        buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000005", "GEC202400000007")
    )
    auditor = replay(log.records)
    assert [(f.check, f.seq) for f in auditor.failures] == [(Check.AUTHORITY, twice)]
    assert "overlap" in auditor.failures[0].reason


def test_rotated_key_signs_nothing_after_rotation() -> None:
    log, operator = genesis()
    old = log.enroll(operator, BUYER, "buyer")
    log.append(operator, buyer_account(operator.org))
    new = OrgSigner(BUYER, new_private_key())
    log.append(
        old,
        new_entry("key.rotate", BUYER, orgId=BUYER, newPublicKey=encode_public_key(new.public_key)),
    )
    good = log.append(new, retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400000002"))
    late = log.append(old, retirement(BUYER, "cn-gec", "GEC", "GEC202400000003", "GEC202400000004"))
    auditor = replay(log.records)
    assert [(f.check, f.seq) for f in auditor.failures] == [(Check.SIGNATURE, late)]
    assert "rotated" in auditor.failures[0].reason and good < late


def test_role_and_forged_signature_are_named() -> None:
    log, operator = genesis()
    buyer = log.enroll(operator, BUYER, "buyer")
    # A buyer may not publish factors (role), and a signature by another key is forged.
    no_role = log.append(buyer, new_entry("factors.publish", BUYER, **load_default_factors()))
    obj = retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400000002")
    forger = OrgSigner(BUYER, new_private_key()).sign(obj)
    forged = log.append_raw(forger.entry, buyer.key_id, forger.signature)
    auditor = replay(log.records)
    failures = [(f.check, f.seq) for f in auditor.failures]
    assert failures == [(Check.AUTHORITY, no_role), (Check.SIGNATURE, forged)]
    assert "role" in auditor.failures[0].reason, auditor.failures[0].reason


def test_state_round_trip_continues_the_same_audit(tmp_path: Path) -> None:
    log, operator = genesis()
    buyer = log.enroll(operator, BUYER, "buyer")
    log.append(operator, buyer_account(operator.org))
    log.append(buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400000010"))
    store = AuditStateStore(tmp_path, fresh=True)
    first = replay(log.records, ReplayState(carbon=store.carbon()))
    root = first.state.compact.root()
    store.commit(SavedCheckpoint("n", len(log.records), root), first.state)
    assert has_state(tmp_path) and not (tmp_path / "audit-state.sqlite3.new").exists()

    store = AuditStateStore(tmp_path, fresh=False)
    saved, loaded = store.load()
    assert saved.size == len(log.records) and loaded.compact.root() == root
    # The saved carbon facts still know the retired serials; the rotation is remembered.
    twice = log.append(
        buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000010", "GEC202400000011")
    )
    fine = log.append(
        buyer, retirement(BUYER, "cn-gec", "GEC", "GEC202400000012", "GEC202400000013")
    )
    second = replay(log.records[twice:], loaded)
    assert [(f.check, f.seq) for f in second.failures] == [(Check.AUTHORITY, twice)]
    assert second.state.size == fine + 1
    store.abort()  # a failed audit leaves the saved state as it was
    store = AuditStateStore(tmp_path, fresh=False)
    assert store.load()[0].size == saved.size
    store.abort()


def test_pool_verdicts_match_inline_checks() -> None:
    log, operator = genesis()
    buyer = log.enroll(operator, BUYER, "buyer")
    for i in range(300):
        n = f"{i:06d}"
        log.append(buyer, retirement(BUYER, "cn-gec", "GEC", f"GEC2024{n}", f"GEC2024{n}"))
    items = [(r.entry, buyer.public_key, r.signature) for r in log.records[2:]]
    started = time.perf_counter()
    with VerifierPool(2) as pool:
        parallel = pool.submit(items).result()
    assert parallel == check_items(items) == [(None, True)] * len(items)
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("bad", [b"{}", b'{"a": 1}'])
def test_non_canonical_bytes_are_reported(bad: bytes) -> None:
    verdicts = check_items([(bad, None, bytes(64))])
    assert (verdicts[0][0] is None) == (bad == b"{}")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=4), _json, max_size=4),
    st.integers(0, 40),
    st.binary(max_size=2),
)
def test_fast_canonical_check_never_accepts_what_the_ledger_refuses(
    obj: dict[str, Any], cut: int, junk: bytes
) -> None:
    try:
        data = rfc8785.dumps(obj)
    except rfc8785.IntegerDomainError:
        data = json.dumps(obj).encode()
    for candidate in (data, data[:cut] + junk + data[cut:], json.dumps(obj).encode()):
        [(canonical_error, _)] = check_items([(candidate, None, b"")])
        if canonical_error is None:
            assert parse_canonical(candidate) == json.loads(candidate)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8), st.sampled_from("ab")), max_size=40)
)
def test_indexed_serial_check_agrees_with_the_shared_scan(
    ranges: list[tuple[int, int, str]],
) -> None:
    """Applied like the rules apply them: a range is added only if it overlaps nothing.
    The in-memory index and the SQL index walk must name what the shared scan names."""
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        SQLModel.metadata.create_all(conn)
        views: list[CarbonView] = [MemoryCarbonView(), SqlCarbonView(conn)]
        scan = MemoryCarbonView()
        probe = SerialSpan("a", "GEC", 3, "000", "999")
        for seq, (first, length, registry) in enumerate(ranges):
            span = SerialSpan(registry, "GEC", 3, f"{first:03d}", f"{first + length:03d}")
            found = scan.overlapping_retirement(span)
            assert [v.overlapping_retirement(span) for v in views] == [found, found]
            if found is None:
                for view in (scan, *views):
                    view.add_retirement(span, seq, "o")
        expected = scan.overlapping_retirement(probe)
        assert [v.overlapping_retirement(probe) for v in views] == [expected, expected]
    engine.dispose()
