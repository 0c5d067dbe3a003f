"""Audit benchmark: full-audit entries/s next to the raw Ed25519 verification rate on
all cores, measured in the same run, and the cost of an incremental audit.

The log is built in memory exactly as the ledger builds it (canonical entries,
Ed25519 signatures, records, hash chain, RFC 9162 tree, signed checkpoint)
and served by an in-memory source, so the numbers are the verification
engine's, not a transport's or a database's. The mix: enrolments of signing
orgs, key rotations, and certificate retirements with distinct serials
(which exercise the serial-overlap rule on every entry).

It also measures the floor of ``bench/floors.py`` (the per-entry work besides
the signature that any audit must do) and prints the bound it sets, then the CPU the
auditing process itself spent per entry (the serial replay: hashes, Merkle range,
parse, rules, state) and the bound once that shares the cores too. With the signature
at ~35 µs/entry on two cores, a ratio of 0.8 would leave the replay ~4 µs per entry.

Usage: python bench/audit.py [--entries N] [--new M] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# The project's packages before this folder's scripts: bench/gateway.py is not ``gateway``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from floors import bound, stateless_rate

from clients.audit.model import AuditRecord
from clients.audit.run import run_audit
from clients.audit.source import batched
from clients.audit.state import STATE_FILE
from ledger.canonical import canonicalize
from ledger.keys import encode_public_key, key_id, new_private_key, public_key_bytes
from ledger.merkle import MerkleTree
from ledger.note import Checkpoint, NoteSigner, sign_checkpoint
from ledger.record import GENESIS_CHAIN_HASH, Record, entry_hash

OPERATOR = "urn:carbonledger:org:operator"
ORGS = 50


class OrgSigner:
    """An org's key: signs canonical entry bytes (what the SDK does, without gRPC)."""

    def __init__(self, org: str, private_key: Ed25519PrivateKey) -> None:
        self.org, self.private_key = org, private_key
        self.public_key = public_key_bytes(private_key)
        self.key_id = key_id(self.public_key)

    def sign(self, obj: dict[str, object]) -> tuple[bytes, bytes]:
        entry = canonicalize(obj)
        return entry, self.private_key.sign(entry)


def new_entry(entry_type: str, org: str, **members: object) -> dict[str, object]:
    return {"type": entry_type, "entryId": str(uuid.uuid4()), "org": org, **members}


class MemoryLedger:
    """Records, tree and signed checkpoints, and a count of what audits read."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.public_keys: list[bytes] = []
        self.tree = MerkleTree()
        self.chain = GENESIS_CHAIN_HASH
        self.signer = NoteSigner("bench.example/log", new_private_key())
        self.records_read = 0
        self.proof_hashes_read = 0

    def append(self, signer: OrgSigner, obj: dict[str, object]) -> None:
        entry, signature = signer.sign(obj)
        seq = len(self.records)
        ts = 1_767_225_600_000_000 + seq
        rec = Record(seq, ts, self.chain, entry_hash(entry), signer.key_id, signature)
        prev, self.chain = self.chain, rec.chain_hash()
        leaf = rec.leaf_hash()
        self.records.append(
            AuditRecord(seq, ts, entry, signer.key_id, signature, prev, leaf, self.chain)
        )
        self.public_keys.append(signer.public_key)
        self.tree.append(leaf)

    # -- RecordSource ---------------------------------------------------------
    def checkpoint_note(self) -> str:
        cp = Checkpoint(self.signer.name, self.tree.size, self.tree.root())
        return sign_checkpoint(cp, self.signer)

    def batches(self, start: int, stop: int) -> Iterator[list[AuditRecord]]:
        self.records_read += stop - start
        yield from batched(iter(self.records[start:stop]))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        proof = self.tree.consistency_proof(first, second)
        self.proof_hashes_read += len(proof)
        return proof

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        proof = self.tree.inclusion_proof(index, size)
        self.proof_hashes_read += len(proof)
        return proof

    def close(self) -> None:
        pass


def build(ledger: MemoryLedger, count: int, orgs: list[OrgSigner], start: int) -> None:
    """``count`` entries: retirements, with a key rotation every 5,000."""
    for i in range(start, start + count):
        index = i % len(orgs)
        org = orgs[index]
        if i % 5000 == 4999:
            new = OrgSigner(org.org, new_private_key())
            key = encode_public_key(new.public_key)
            ledger.append(org, new_entry("key.rotate", org.org, orgId=org.org, newPublicKey=key))
            orgs[index] = new
            continue
        serial = f"GEC-{index}-{i:012d}"
        ledger.append(
            org,
            new_entry(
                "instrument.retire",
                org.org,
                registry="cn-gec",
                accountId=f"acct-{index}",
                kind="GEC",
                serials={"first": serial, "last": serial},
                quantity="1",
                unit="MWh",
                vintage=2024,
                beneficiary={"org": org.org},
            ),
        )


def genesis(ledger: MemoryLedger) -> list[OrgSigner]:
    operator = OrgSigner(OPERATOR, new_private_key())
    pub = encode_public_key(operator.public_key)
    enroll = new_entry(
        "org.enroll", OPERATOR, orgId=OPERATOR, name="op", roles=["operator"], publicKey=pub
    )
    ledger.append(operator, enroll)
    orgs = []
    for i in range(ORGS):
        org = OrgSigner(f"urn:pact:company:customcode:bench-{i}", new_private_key())
        ledger.append(
            operator,
            new_entry(
                "org.enroll",
                OPERATOR,
                orgId=org.org,
                name=f"b{i}",
                roles=["buyer"],
                publicKey=encode_public_key(org.public_key),
            ),
        )
        issued = {"first": f"GEC-{i}-{0:012d}", "last": f"GEC-{i}-{10**12 - 1}"}
        account = {
            "registry": "cn-gec",
            "accountId": f"acct-{i}",
            "orgId": org.org,
            "serialRanges": [issued],
        }
        ledger.append(operator, new_entry("registry.account", OPERATOR, **account))
        orgs.append(org)
    return orgs


def _verify_chunk(items: list[tuple[bytes, bytes, bytes]]) -> int:
    ok = 0
    for public, signature, message in items:
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
            ok += 1
        except InvalidSignature:
            pass
    return ok


def raw_rate(ledger: MemoryLedger, workers: int) -> float:
    """Ed25519 verifications/s of ``cryptography`` on ``workers`` processes, same entries."""
    items = [
        (p, r.signature, r.entry) for p, r in zip(ledger.public_keys, ledger.records, strict=True)
    ]
    step = -(-len(items) // (workers * 8))
    chunks = [items[i : i + step] for i in range(0, len(items), step)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_verify_chunk, chunks[:workers]))  # warm the workers up
        started = time.perf_counter()
        ok = sum(pool.map(_verify_chunk, chunks))
        elapsed = time.perf_counter() - started
    assert ok == len(items)
    return len(items) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    ledger = MemoryLedger()
    started = time.perf_counter()
    orgs = genesis(ledger)
    build(ledger, args.entries - len(ledger.records), orgs, len(ledger.records))
    print(f"built {len(ledger.records)} records in {time.perf_counter() - started:.1f}s")

    raw = raw_rate(ledger, args.workers)
    floor = stateless_rate([r.entry for r in ledger.records], args.workers)
    best = bound(raw, floor)
    verifier = ledger.signer.verifier()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        cpu = time.process_time()
        full = run_audit(ledger, verifier, state, workers=args.workers)
        # The workers are other processes: this is the replay's own CPU time.
        replay_cpu = time.process_time() - cpu
        assert full.ok, full.to_text()
        full_rate = full.entries_checked / full.seconds
        state_bytes = (state / STATE_FILE).stat().st_size

        build(ledger, args.new, orgs, len(ledger.records))
        ledger.records_read = ledger.proof_hashes_read = 0
        inc = run_audit(ledger, verifier, state, workers=args.workers)
        assert inc.ok and inc.incremental, inc.to_text()

    print(f"raw Ed25519 verify on {args.workers} processes: {raw:,.0f}/s")
    print(
        f"floor: canonical check + schema parse + entry hash (no signature, no rules) on "
        f"{args.workers} processes: {floor:,.0f}/s; with verification <= {best:,.0f}/s "
        f"(ratio <= {best / raw:.2f})"
    )
    # The replay is serial (each entry's rules see the state the entries before it left)
    # and shares the cores with the checks: a bound that counts it too.
    replay_rate = full.entries_checked / replay_cpu
    with_replay = min(replay_rate, bound(raw, floor, replay_rate * args.workers))
    print(
        f"replay in the auditing process (leaf and chain hashes, Merkle, parse, identity and "
        f"carbon rules, dispatch): {1e6 / replay_rate:.0f} µs/entry of CPU; with it on the "
        f"same cores <= {with_replay:,.0f}/s (ratio <= {with_replay / raw:.2f})"
    )
    print(
        f"incremental audit of {inc.entries_checked} new entries on a log of "
        f"{inc.previous_size}: {inc.seconds:.2f}s, read {ledger.records_read} records and "
        f"{ledger.proof_hashes_read} proof hashes; state file {state_bytes / 1e6:.1f} MB"
    )
    print(
        f"full audit: {full.entries_checked} entries in {full.seconds:.1f}s = "
        f"{full_rate:,.0f} entries/s (ratio {full_rate / raw:.2f} vs raw verify on all cores)"
    )


if __name__ == "__main__":
    main()
