"""A monitor that follows a real ledger and gateway (SQLite and PostgreSQL) through
``/tlog/checkpoint`` and hash tiles only: it recomputes each root from the tiles and
proves each checkpoint consistent with the last, across growth past tile boundaries
(250, 300, 520 entries), and raises an alarm on a fork signed by another key, a
rollback, tiles that do not hash to the signed root, and a rewritten stored node."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from clients.audit.monitor import MonitorAlarm, TileMonitor, gateway_monitor
from ledger.keys import new_private_key
from ledger.merkle import MerkleTree, NodeID
from ledger.note import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint
from ledger.tiles import TileFetcher, TileID
from tests.ledger_fixtures import SUPPLIER, rewrite_merkle_node
from tests.test_gateway_support import Env, environment, footprint_entry

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


def _grow_to(env: Env, size: int) -> None:
    start = env.server.store.tree_size()
    signer = env.orgs[SUPPLIER]
    entries = [signer.sign(footprint_entry(SUPPLIER, f"{PRODUCT}-{n}")) for n in range(start, size)]
    list(env.ledger.submit_batches(entries))
    env.server.checkpointer.refresh()


def test_the_monitor_follows_growth_through_tiles_only(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as public:
        asked: list[str] = []
        public.event_hooks["request"].append(lambda request: asked.append(request.url.path))
        vkey = NoteVerifier.from_vkey(env.server.vkey)
        monitor = gateway_monitor(public, vkey)
        notes: dict[int, str] = {}
        for size in (250, 300, 520):
            _grow_to(env, size)
            notes[size] = public.get("/tlog/checkpoint").text
            accepted = monitor.poll()
            assert accepted.size == size
            # The root the monitor accepted is the RFC 9162 root of the stored leaves.
            leaves = [r.leaf_hash for r in env.server.store.records(0, size)]
            assert accepted.root_hash == MerkleTree(leaves).root()
        assert asked and all(path.startswith("/tlog/") for path in asked)
        assert "/tlog/tile/1/000.p/2" in asked  # a level-1 tile, once past 512 leaves
        assert monitor.poll() == accepted  # nothing new: the same tree, still consistent

        # A fork: the same origin and a bigger tree, signed by a second key.
        impostor = NoteSigner(env.server.signer.name, new_private_key())
        forked = sign_checkpoint(Checkpoint(accepted.origin, 600, bytes(32)), impostor)
        tiles = _fetcher(public)
        fork = TileMonitor(vkey, lambda: forked, tiles, accepted)
        with pytest.raises(MonitorAlarm, match="not signed by the pinned ledger key"):
            fork.poll()
        # A split view: the ledger's own key signs a bigger tree that rewrites seq 100,
        # served with tiles of its own that do hash to it. Only consistency catches it.
        leaves = [r.leaf_hash for r in env.server.store.records(0, 520)]
        leaves[100] = bytes(32)
        split = MerkleTree([*leaves, *(bytes([n]) * 32 for n in range(1, 11))])
        split_note = sign_checkpoint(
            Checkpoint(accepted.origin, split.size, split.root()), env.server.signer
        )

        def split_tiles(tile: TileID) -> bytes:
            first = tile.index * 256
            level = tile.level * 8
            return b"".join(split.node(NodeID(level, first + i)) for i in range(tile.width))

        assert TileMonitor(vkey, lambda: split_note, split_tiles).poll().size == 530
        split_view = TileMonitor(vkey, lambda: split_note, split_tiles, accepted)
        with pytest.raises(MonitorAlarm, match="is not consistent with the checkpoint of size 520"):
            split_view.poll()
        # A rollback: an older checkpoint, genuinely signed, served again.
        rollback = TileMonitor(vkey, lambda: notes[300], tiles, accepted)
        with pytest.raises(MonitorAlarm, match="truncated or rolled back"):
            rollback.poll()

        # Tiles that do not hash to the signed root (a lying gateway or cache).
        def flipped(tile: TileID) -> bytes:
            data = bytearray(tiles(tile))
            data[0] ^= 1
            return bytes(data)

        lying = TileMonitor(vkey, lambda: public.get("/tlog/checkpoint").text, flipped)
        with pytest.raises(MonitorAlarm, match="do not hash to its signed root"):
            lying.poll()
        assert monitor.last == accepted  # an alarm accepts nothing


def _fetcher(http: httpx.Client) -> TileFetcher:
    def fetch(tile: TileID) -> bytes:
        return http.get(f"/tlog/{tile.path()}").content

    return fetch


def test_a_rewritten_stored_node_raises_the_alarm(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as public:
        env.footprint(SUPPLIER, PRODUCT)
        env.server.checkpointer.refresh()
        monitor = gateway_monitor(public, NoteVerifier.from_vkey(env.server.vkey))
        accepted = monitor.poll()
        rewrite_merkle_node(db_url, level=0, index=1)
        env.footprint(SUPPLIER, PRODUCT + "-2")
        env.server.checkpointer.refresh()
        with pytest.raises(MonitorAlarm, match=r"does not serve tile/0/000\.p/") as alarm:
            monitor.poll()
        assert "500" in str(alarm.value) and "integrity check failed" in str(alarm.value)
        assert monitor.last == accepted
