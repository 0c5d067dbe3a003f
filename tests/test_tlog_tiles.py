"""``/tlog`` (C2SP tlog-tiles) through a real gateway on loopback, SQLite and
PostgreSQL: a client that reads only the checkpoint and hash tiles rebuilds the
signed root and every inclusion proof; entry bundles go only to callers who may read
every record in them; a stored node edited behind the ledger's back makes the tile
refused (500, integrity alarm) instead of served."""

from __future__ import annotations

from pathlib import Path

import httpx

from ledger.merkle import MerkleTree, leaf_hash, verify_inclusion
from ledger.note import NoteVerifier, open_checkpoint
from ledger.record import LEAF_SIZE, Record
from ledger.tiles import TileFetcher, TileID, TileReader, entry_bundle, hash_tile
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, rewrite_merkle_node
from tests.test_gateway_support import Env, environment, footprint_entry

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


def _signed_size(env: Env, http: httpx.Client) -> tuple[int, bytes]:
    answer = http.get("/tlog/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    checkpoint = open_checkpoint(answer.text, NoteVerifier.from_vkey(env.server.vkey))
    return checkpoint.size, checkpoint.root_hash


def _fetcher(http: httpx.Client, seen: dict[TileID, httpx.Response]) -> TileFetcher:
    def fetch(tile: TileID) -> bytes:
        answer = http.get(f"/tlog/{tile.path()}")
        assert answer.status_code == 200, (tile, answer.text)
        seen[tile] = answer
        return answer.content

    return fetch


def test_tiles_rebuild_the_signed_root_and_proofs(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as public:
        env.footprint(SUPPLIER, PRODUCT)
        env.footprint(SUPPLIER, PRODUCT + "-2")
        size, root = _signed_size(env, public)
        assert 2 < size < 256
        seen: dict[TileID, httpx.Response] = {}
        reader = TileReader(size, _fetcher(public, seen))
        assert reader.root() == root
        # The leaves as the store holds them, in an independent RFC 9162 tree.
        leaves = [r.leaf_hash for r in env.server.store.records(0, size)]
        independent = MerkleTree(leaves)
        assert independent.root() == root
        for seq in range(size):
            proof = reader.inclusion_proof(seq)
            assert proof == independent.inclusion_proof(seq, size)
            verify_inclusion(leaves[seq], seq, size, proof, root)
        assert list(seen) == [TileID(0, 0, size)]
        partial = seen[TileID(0, 0, size)]
        assert partial.headers["content-type"] == "application/octet-stream"
        assert partial.headers["cache-control"] == "public, max-age=60"
        # An earlier checkpoint's partial tile is the prefix of the current one.
        earlier = public.get(f"/tlog/tile/0/000.p/{size - 1}")
        assert earlier.content == partial.content[:-32]

        for missing in ("0/000", f"0/000.p/{size + 1}", "0/001.p/1", "1/000.p/1", "7/000"):
            answer = public.get(f"/tlog/tile/{missing}")
            assert answer.status_code == 404, missing
            assert answer.json()["code"] == "NotFound", missing
        for bad in ("0/x000/000", "0/00", "64/000", "0/000.p/256", "0/000.p/0", "x/000"):
            answer = public.get(f"/tlog/tile/{bad}")
            assert answer.status_code == 400, bad
            assert answer.json()["code"] == "BadRequest", bad
            assert "tile/" in answer.json()["message"], bad


def test_entry_bundles_follow_the_access_policy(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as public:
        env.footprint(SUPPLIER, PRODUCT)
        size, _ = _signed_size(env, public)
        path = f"/tlog/tile/entries/000.p/{size}"
        refused = public.get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "AccessDenied"
        for org in (SUPPLIER, BUYER):
            with env.client(org) as http:
                refused = http.get(path)
                assert refused.status_code == 403, org
                assert refused.json()["code"] == "AccessDenied", org
                assert "every record" in refused.json()["message"]
        with env.client(AUDITOR) as auditor:
            answer = auditor.get(path)
            assert answer.status_code == 200, answer.text
            assert answer.headers["cache-control"] == "private, max-age=60"
            tile = public.get(f"/tlog/tile/0/000.p/{size}").content
            leaves = entry_bundle.decode(answer.content, size)
            assert [leaf_hash(leaf) for leaf in leaves] == hash_tile.decode(
                TileID(0, 0, size), tile
            )
            for seq, leaf in enumerate(leaves):
                assert len(leaf) == LEAF_SIZE and Record.from_leaf(leaf).seq == seq
            assert auditor.get(f"/tlog/tile/entries/000.p/{size + 1}").status_code == 404
            assert auditor.get("/tlog/tile/entries/000").status_code == 404
            assert auditor.get("/tlog/tile/entries/00x").status_code == 400


def test_full_tiles_across_the_256_boundary(tmp_path: Path, db_url: str) -> None:
    """Past 256 records: a full level-0 tile and bundle (immutable), the next partial
    ones, and the level-1 tile of width 1 the spec says a tree of 256 or more has."""
    with environment(tmp_path, db_url) as env, env.client() as public:
        start = env.server.store.tree_size()
        signer = env.orgs[SUPPLIER]
        entries = [signer.sign(footprint_entry(SUPPLIER, f"{PRODUCT}-{n}")) for n in range(258)]
        for n, receipt in enumerate(env.ledger.submit_batches(entries[: 256 - start])):
            assert receipt.seq == start + n  # type: ignore[union-attr]
        size, root = _signed_size(env, public)
        assert size == 256
        seen: dict[TileID, httpx.Response] = {}
        reader = TileReader(size, _fetcher(public, seen))
        assert reader.root() == root == env.server.store.root(256)
        assert set(seen) == {TileID(1, 0, 1)}  # the root is one level-1 hash
        assert reader.inclusion_proof(255) == env.server.store.inclusion_proof(255, 256)
        full = seen[TileID(0, 0)]
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(full.content) == 8192
        list(env.ledger.submit_batches(entries[256 - start :]))
        size, root = _signed_size(env, public)
        assert size == 258 + start
        reader = TileReader(size, _fetcher(public, seen))
        assert reader.root() == root
        for seq in (0, 255, 256, size - 1):
            assert reader.inclusion_proof(seq) == env.server.store.inclusion_proof(seq, size)
        with env.client(AUDITOR) as auditor:
            bundle = auditor.get("/tlog/tile/entries/000")
            assert bundle.status_code == 200
            assert bundle.headers["cache-control"] == "private, max-age=31536000, immutable"
            leaves = entry_bundle.decode(bundle.content, 256)
            assert b"".join(leaf_hash(leaf) for leaf in leaves) == full.content
            tail = auditor.get(f"/tlog/tile/entries/001.p/{size - 256}")
            assert len(entry_bundle.decode(tail.content, size - 256)) == size - 256


def test_an_edited_node_makes_the_tile_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as public:
        env.footprint(SUPPLIER, PRODUCT)
        size, _ = _signed_size(env, public)
        env.footprint(SUPPLIER, PRODUCT + "-2")
        env.server.checkpointer.refresh()
        before = public.get(f"/tlog/tile/0/000.p/{size}")
        assert before.status_code == 200
        rewrite_merkle_node(db_url, level=0, index=1)
        # The tile at an earlier size (a consistency proof ties it to the signed root)
        # and at the signed size are both refused, with no tile bytes.
        for width in (size, size + 1):
            answer = public.get(f"/tlog/tile/0/000.p/{width}")
            assert answer.status_code == 500, width
            assert answer.json()["code"] == "InternalError"
            assert "integrity check failed" in answer.json()["message"]
        assert public.get("/healthz").status_code == 503
