"""The tlog-tiles math without a server: paths in the spec's encoding, tile widths
for the spec's worked example, and a client that reads only tiles rebuilding roots
and inclusion proofs that match an independent RFC 9162 computation, at sizes around
tile boundaries (255, 256, 257, 65,536 ± 1) with synthetic leaves."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest

from ledger.merkle import MerkleTree, NodeID, leaf_hash, node_hash, verify_inclusion
from ledger.tiles import (
    TileFetcher,
    TileID,
    TilePathError,
    TileReader,
    TileSizeError,
    entry_bundle,
    hash_tile,
    parse_tile_path,
)
from ledger.tiles.tile_id import encode_index

BIG = 65_537
SIZES = [1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537]


@cache
def leaves() -> list[bytes]:
    return [leaf_hash(i.to_bytes(8, "big")) for i in range(BIG)]


@cache
def tree() -> MerkleTree:
    return MerkleTree(leaves())


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes, recursively, as the RFC writes it."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(index: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), recursively."""
    if len(hashes) == 1:
        return []
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    if index < k:
        return [*path(index, hashes[:k]), mth(hashes[k:])]
    return [*path(index - k, hashes[k:]), mth(hashes[:k])]


def served(size: int, fetched: list[TileID]) -> TileFetcher:
    """A log of ``size`` leaves serving tiles from its perfect nodes, as the gateway does."""

    def fetch(tile: TileID) -> bytes:
        assert hash_tile.exists_at(tile, size), tile
        fetched.append(tile)
        return hash_tile.encode([tree().node(n) for n in hash_tile.node_ids(tile)])

    return fetch


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1_234_067, "x001/x234/067")],
)
def test_index_encoding_round_trips(index: int, encoded: str) -> None:
    assert encode_index(index) == encoded
    assert parse_tile_path(f"3/{encoded}") == (False, TileID(3, index))
    assert parse_tile_path(f"entries/{encoded}.p/7") == (True, TileID(0, index, 7))
    assert TileID(3, index, 17).path() == f"tile/3/{encoded}.p/17"
    assert TileID(0, index).bundle_path() == f"tile/entries/{encoded}"


@pytest.mark.parametrize(
    "bad",
    [
        "0/x000/005",  # a redundant leading element
        "0/05",
        "0/0005",
        "00/000",
        "64/000",
        "-1/000",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/07",
        "0/000.p/",
        "0/x001",
        "0/001/002",  # an element without x before the last
        "0/",
        "0",
        "entries",
        "tiles/000",
        "0/x01/000",
        "0/000.p",
    ],
)
def test_non_canonical_paths_are_refused(bad: str) -> None:
    with pytest.raises(TilePathError):
        parse_tile_path(bad)


def test_widths_of_the_specs_example_tree() -> None:
    """tlog-tiles: size 70,000 has 273 full level-0 tiles, a partial one of width 112,
    one full level-1 tile, a partial one of 17 and a partial level-2 tile of 1."""
    size = 70_000
    assert [hash_tile.width_at(0, n, size) for n in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [hash_tile.width_at(1, n, size) for n in (0, 1, 2)] == [256, 17, 0]
    assert [hash_tile.width_at(2, n, size) for n in (0, 1)] == [1, 0]
    assert hash_tile.width_at(3, 0, size) == 0
    assert [hash_tile.width_at(1, 0, 256), hash_tile.width_at(0, 0, 256)] == [1, 256]
    assert hash_tile.exists_at(TileID(0, 273, 100), size)  # an earlier checkpoint's tile
    assert not hash_tile.exists_at(TileID(0, 273, 113), size)
    assert not hash_tile.exists_at(TileID(0, 273), size)


@pytest.mark.parametrize("size", SIZES)
def test_a_client_of_tiles_gets_the_rfc_9162_root_and_proofs(size: int) -> None:
    fetched: list[TileID] = []
    reader = TileReader(size, served(size, fetched))
    root = reader.root()
    assert root == tree().root(size)
    if size in (255, 256, 257, 65_536, 65_537):
        assert root == mth(leaves()[:size])
    for index in sorted({0, 1, size // 2, 254, 255, 256, 257, size - 2, size - 1}):
        if not 0 <= index < size:
            continue
        proof = reader.inclusion_proof(index)
        assert proof == tree().inclusion_proof(index, size)
        verify_inclusion(leaves()[index], index, size, proof, root)
    if size <= 257:
        assert reader.inclusion_proof(size - 1) == path(size - 1, leaves()[:size])
    # Every tile fetched is one the checkpoint's size implies, at its width there.
    for tile in fetched:
        assert tile.width == hash_tile.width_at(tile.level, tile.index, size)


@pytest.mark.parametrize("size", [255, 256, 257, 65_535, 65_536, 65_537])
def test_every_tile_folds_into_the_root_it_ends(size: int) -> None:
    """The server's check: a tile after its left subtrees gives the root of the tree that
    ends at its last hash; one flipped hash gives another root."""
    for level in range(3):
        count = -(-(size >> (8 * level)) // 256)
        for index in range(count):
            width = hash_tile.width_at(level, index, size)
            tile = TileID(level, index, width)
            prefix = [tree().node(n) for n in hash_tile.prefix_ids(tile)]
            hashes = [tree().node(n) for n in hash_tile.node_ids(tile)]
            end = hash_tile.tree_size_through(tile)
            assert end <= size
            assert hash_tile.root_through_tile(tile, prefix, hashes) == tree().root(end)
            flipped = [*hashes[:-1], hashlib.sha256(hashes[-1]).digest()]
            assert hash_tile.root_through_tile(tile, prefix, flipped) != tree().root(end)


def test_tile_bytes_of_the_wrong_size_are_refused() -> None:
    tile = TileID(0, 0, 3)
    with pytest.raises(TileSizeError):
        hash_tile.decode(tile, b"\x00" * 95)
    with pytest.raises(TileSizeError):
        TileReader(3, lambda _: b"\x00" * 64).root()
    assert hash_tile.node_ids(TileID(1, 2, 2)) == (NodeID(8, 512), NodeID(8, 513))
    assert hash_tile.prefix_ids(TileID(1, 2, 2)) == (NodeID(17, 0),)


def test_entry_bundles_round_trip_and_refuse_bad_framing() -> None:
    entries = [b"\x01" * 177, b"", b"x" * 300]
    data = entry_bundle.encode(entries)
    assert data[:2] == (177).to_bytes(2, "big") and len(data) == 6 + 477
    assert entry_bundle.decode(data, 3) == entries
    for bad, count in ((data[:-1], 3), (data + b"\x00", 3), (data, 2), (data[:1], 1)):
        with pytest.raises(TileSizeError):
            entry_bundle.decode(bad, count)
    with pytest.raises(TileSizeError):
        entry_bundle.encode([b"x" * 65_536])
