"""Hash tiles: which tiles a tree size has, the stored nodes a tile is made of,
and the root a tile implies together with the subtrees to its left.

Every hash in a tile at level ``L`` is a perfect subtree at tree level ``8·L``, so
a log that stores every perfect node (``merkle_node``) reads a tile as one range
of stored nodes. A tile is checked before it is served by folding its hashes,
after the perfect subtrees covering everything to its left, into the root of the
tree that ends at the tile's last hash (:func:`root_through_tile`); that root
must be the one the signed checkpoint vouches for at that size.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.merkle import HASH_SIZE, CompactRange, NodeID, root_nodes
from ledger.tiles.errors import TileSizeError
from ledger.tiles.tile_id import TILE_HEIGHT, TILE_WIDTH, TileID


def width_at(level: int, index: int, size: int) -> int:
    """Hashes tile ``(level, index)`` holds in the tree of ``size`` leaves: 0 (none
    yet), 1-255 (partial) or 256 (full). Precondition: ``level, index, size >= 0``."""
    hashes = size >> (level * TILE_HEIGHT)
    return max(0, min(TILE_WIDTH, hashes - index * TILE_WIDTH))


def exists_at(tile: TileID, size: int) -> bool:
    """Whether every hash of ``tile`` is final in the tree of ``size`` leaves.

    A partial tile of a smaller tree is the prefix of a wider one, so it stays
    servable once the tree has grown past it: its bytes never change.
    """
    return tile.width <= width_at(tile.level, tile.index, size)


def tree_size_through(tile: TileID) -> int:
    """The tree size (leaves) whose last leaf is under the tile's last hash."""
    return tile.end << tile.tree_level


def node_ids(tile: TileID) -> tuple[NodeID, ...]:
    """The perfect subtrees whose hashes make up ``tile``, left to right."""
    return tuple(NodeID(tile.tree_level, i) for i in range(tile.first, tile.end))


def prefix_ids(tile: TileID) -> tuple[NodeID, ...]:
    """The perfect subtrees covering every leaf left of ``tile``, largest first.

    They are ``root_nodes`` of the tree made of the tile level's hashes, lifted
    to that level; at most one per tree level above it.
    """
    return tuple(NodeID(n.level + tile.tree_level, n.index) for n in root_nodes(tile.first))


def root_through_tile(tile: TileID, prefix: Sequence[bytes], hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 root of the tree of ``tree_size_through(tile)`` leaves.

    ``prefix`` are the hashes of :func:`prefix_ids`, ``hashes`` the tile's. Above
    the tile's level the tree over its hashes is an ordinary Merkle tree (the
    same interior hashing), so a compact range over them yields the root.
    Raises :class:`TileSizeError` for a wrong number of hashes.
    """
    if len(hashes) != tile.width:
        raise TileSizeError(f"tile {tile.path()} needs {tile.width} hashes, got {len(hashes)}")
    covered = CompactRange(tile.first, prefix)
    for h in hashes:
        covered.append(h)
    return covered.root()


def encode(hashes: Sequence[bytes]) -> bytes:
    """The tile's bytes: its hashes concatenated (8,192 bytes when full)."""
    return b"".join(hashes)


def decode(tile: TileID, data: bytes) -> list[bytes]:
    """The hashes of ``tile`` from its bytes; :class:`TileSizeError` unless there are
    exactly ``tile.width`` of them."""
    if len(data) != tile.width * HASH_SIZE:
        raise TileSizeError(
            f"tile {tile.path()} has {len(data)} bytes, want {tile.width * HASH_SIZE}"
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
