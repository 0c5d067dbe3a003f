"""Crash safety: kill -9 the server at random moments while several signers submit.

After every restart, each signer resubmits what it sent but saw no receipt for,
as a real client would. At the end: every acknowledged entry is in the log
exactly once with the receipt it was given, no unacknowledged entry is
half-written, the hash chain and the Merkle tree verify, and the signed
checkpoint covers the whole log.

Kills: ``CARBONLEDGER_CRASH_KILLS`` (CI: 20; ``make soak``: 100).
"""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from clients.audit.db_source import DbSource
from clients.audit.run import run_audit
from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger.keys import encode_public_key, load_private_key, new_private_key
from ledger.merkle import MerkleTree
from ledger.note import NoteVerifier, open_checkpoint
from ledger.receipt import Receipt
from ledger.record import Record
from ledger.store.database import Database, sqlite_url
from ledger.store.log import LogStore
from tests.reliability.server_process import ServeProcess

pytestmark = pytest.mark.reliability

SIGNERS = 4
KILLS = int(os.environ.get("CARBONLEDGER_CRASH_KILLS", "20"))


def _inventory(org: str, year: int, n: int) -> dict[str, object]:
    return new_entry(
        "inventory",
        org,
        reportingYear=year,
        scope1TCO2e=str(100 + n),
        scope2TCO2e="50.5",
        electricityMWh="1575",
        renewableElectricityMWh="501.2",
    )


class Signer:
    def __init__(self, index: int) -> None:
        self.org = f"urn:pact:company:customcode:crash-{index}"
        self.key = OrgSigner(self.org, new_private_key())
        self.pending: dict[str, SignedEntry] = {}
        self.acked: dict[str, Receipt] = {}
        self._made = 0

    def next_batch(self, count: int) -> list[SignedEntry]:
        """Unanswered entries first (retries), then new ones."""
        batch = list(self.pending.values())
        for _ in range(count):
            self._made += 1
            signed = self.key.sign(_inventory(self.org, 2020 + self._made % 6, self._made))
            self.pending[signed.entry_id] = signed
            batch.append(signed)
        return batch


def _run_round(
    target: str,
    signers: list[Signer],
    on_ack: threading.Condition,
    counter: list[int],
) -> list[threading.Thread]:
    def stream(signer: Signer) -> None:
        try:
            with LedgerClient(
                target, window=64, stream_retries=0, timeout=30, stream_timeout=60
            ) as client:
                for result in client.submit_stream(signer.next_batch(300)):
                    if isinstance(result, Rejected):
                        raise AssertionError(f"unexpected rejection: {result}")
                    signer.pending.pop(result.entry_id, None)
                    earlier = signer.acked.setdefault(result.entry_id, result)
                    assert (earlier.seq, earlier.leaf_hash) == (result.seq, result.leaf_hash)
                    with on_ack:
                        counter[0] += 1
                        on_ack.notify_all()
        except Exception as exc:  # the kill breaks the stream: expected
            if isinstance(exc, AssertionError):
                raise
        finally:
            with on_ack:
                counter[1] += 1
                on_ack.notify_all()

    threads = [threading.Thread(target=stream, args=(s,), daemon=True) for s in signers]
    for thread in threads:
        thread.start()
    return threads


# Twenty (soak: a hundred) kill-and-restart rounds take minutes, not the suite's 300 s default.
@pytest.mark.timeout(3600)
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_kill_nine_loses_nothing_acknowledged(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    db_url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    data = tmp_path / "data"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    signers = [Signer(i) for i in range(SIGNERS)]

    server = ServeProcess(data, db_url)
    operator = OrgSigner("urn:carbonledger:org:operator", load_private_key(data / "operator.key"))
    with LedgerClient(server.grpc) as client:
        for signer in signers:
            client.submit(
                operator.sign(
                    new_entry(
                        "org.enroll",
                        operator.org,
                        orgId=signer.org,
                        name=signer.org,
                        roles=["supplier"],
                        publicKey=encode_public_key(signer.key.public_key),
                    )
                )
            )

    for _ in range(KILLS):
        kill_after = rng.randrange(1, 400)
        on_ack = threading.Condition()
        counter = [0, 0]  # acknowledgements this round, finished streams
        threads = _run_round(server.grpc, signers, on_ack, counter)
        with on_ack:
            on_ack.wait_for(
                lambda n=kill_after, c=counter: c[0] >= n or c[1] == SIGNERS,  # type: ignore[misc]
                timeout=120,
            )
        server.kill()
        for thread in threads:
            thread.join(timeout=60)
        server = ServeProcess(data, db_url)

    # A last round without a kill: every signer's retries go through.
    done = threading.Condition()
    counter = [0, 0]
    for thread in _run_round(server.grpc, signers, done, counter):
        thread.join(timeout=120)
    vkey = server.info["ledger-key"]
    with LedgerClient(server.grpc) as client:
        note = client.checkpoint().note
    server.stop()

    assert all(not s.pending for s in signers), f"seed {seed}: retries left unanswered"
    store = LogStore(Database(db_url or sqlite_url(data)))
    size = store.tree_size()
    records = list(store.records(0, size))
    assert [r.seq for r in records] == list(range(size)), f"seed {seed}: gap or duplicate"
    by_entry = {r.entry_id: r for r in records}
    assert len(by_entry) == size, f"seed {seed}: an entry was recorded twice"
    for signer in signers:
        for entry_id, receipt in signer.acked.items():
            stored = by_entry.get(entry_id)
            assert stored is not None, f"seed {seed}: acknowledged {entry_id} lost"
            assert (stored.seq, stored.leaf_hash) == (receipt.seq, receipt.leaf_hash)
    chain = bytes(32)
    for r in records:
        rebuilt = Record(r.seq, r.timestamp_us, chain, r.entry_hash, r.key_id, r.signature)
        assert r.prev_chain_hash == chain and rebuilt.leaf_hash() == r.leaf_hash, r.seq
        chain = rebuilt.chain_hash()
    root = MerkleTree([r.leaf_hash for r in records]).root()
    checkpoint = open_checkpoint(note, NoteVerifier.from_vkey(vkey))
    assert checkpoint.size == size and checkpoint.root_hash == root == store.root(size)
    store.db.dispose()
    report = run_audit(DbSource(db_url or sqlite_url(data)), NoteVerifier.from_vkey(vkey))
    assert report.ok, f"seed {seed}: audit failed: {report.failures[:3]}"
