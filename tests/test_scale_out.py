"""Two ledger processes over one PostgreSQL database: one log, no fork, no gap."""

from __future__ import annotations

import threading
from pathlib import Path

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from ledger.keys import encode_public_key, new_private_key
from ledger.merkle import MerkleTree
from ledger.record import Record
from tests.ledger_fixtures import operator_of, running_server


def test_two_servers_share_one_consistent_log(tmp_path: Path, postgres_url: str) -> None:
    # Both processes share the data directory's keys, as a scaled-out deployment does.
    with (
        running_server(tmp_path, postgres_url) as first,
        running_server(tmp_path, postgres_url) as second,
    ):
        operator = operator_of(first)
        results: dict[str, list[object]] = {}

        def load(server_name: str, target: str) -> None:
            entries = []
            for i in range(120):
                org = f"urn:pact:company:customcode:{server_name}-{i}"
                key = OrgSigner(org, new_private_key())
                entries.append(
                    operator.sign(
                        new_entry(
                            "org.enroll",
                            operator.org,
                            orgId=org,
                            name=org,
                            roles=["supplier"],
                            publicKey=encode_public_key(key.public_key),
                        )
                    )
                )
            with LedgerClient(target, window=16) as client:
                results[server_name] = list(client.submit_stream(entries))

        threads = [
            threading.Thread(target=load, args=("a", first.grpc_target)),
            threading.Thread(target=load, args=("b", second.grpc_target)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        receipts = [r for rs in results.values() for r in rs]
        assert not [r for r in receipts if isinstance(r, Rejected)]
        seqs = sorted(r.seq for r in receipts)  # type: ignore[union-attr]
        assert seqs == list(range(1, 241))  # genesis is 0, recorded once

        records = list(first.store.records(0, first.store.tree_size()))
        assert [r.seq for r in records] == list(range(241))
        previous_chain = bytes(32)
        for r in records:
            rebuilt = Record(
                r.seq, r.timestamp_us, previous_chain, r.entry_hash, r.key_id, r.signature
            )
            assert r.prev_chain_hash == previous_chain
            assert rebuilt.leaf_hash() == r.leaf_hash
            previous_chain = rebuilt.chain_hash()
        tree = MerkleTree([r.leaf_hash for r in records])
        assert first.store.root(241) == tree.root() == second.store.root(241)
        assert first.checkpointer.latest().root_hash == tree.root()
