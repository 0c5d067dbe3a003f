"""A client's view of a tiled log: any perfect node, root, inclusion or consistency
proof of the tree of a checkpoint's size, from hash tiles alone.

Node ``(8·L + r, i)`` is the root of ``2^r`` consecutive hashes of one level-``L``
tile (aligned, so they never straddle two tiles), hashed up ``r`` levels. The
widths fetched are those the checkpoint's size implies, so every tile asked for
exists once that checkpoint does; :mod:`ledger.merkle.nodes` then names the
nodes of each proof exactly as the server's store would.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.merkle import (
    IndexOutOfRangeError,
    NodeID,
    consistency_nodes,
    inclusion_nodes,
    node_hash,
    root_from_subtrees,
    root_nodes,
)
from ledger.tiles import hash_tile
from ledger.tiles.tile_id import TILE_HEIGHT, TILE_WIDTH, TileID

TileFetcher = Callable[[TileID], bytes]
"""Returns the bytes of a hash tile (``GET <prefix>/tile/<L>/<N>[.p/<W>]``)."""


class TileReader:
    """The tree of ``size`` leaves as served in tiles by ``fetch`` (each tile fetched
    once). Nothing here is trusted: compare :meth:`root` with a verified checkpoint."""

    def __init__(self, size: int, fetch: TileFetcher) -> None:
        self.size = size
        self._fetch = fetch
        self._tiles: dict[TileID, list[bytes]] = {}

    def node(self, node: NodeID) -> bytes:
        """The hash of a perfect node of the tree; :class:`IndexOutOfRangeError` if it
        is not complete at :attr:`size`."""
        if node.end > self.size:
            raise IndexOutOfRangeError(node.end - 1, self.size)
        level, rise = divmod(node.level, TILE_HEIGHT)
        first = node.index << rise
        index, offset = divmod(first, TILE_WIDTH)
        hashes = self._tile(TileID(level, index, hash_tile.width_at(level, index, self.size)))
        layer = hashes[offset : offset + (1 << rise)]
        while len(layer) > 1:
            layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        return layer[0]

    def root(self) -> bytes:
        """The RFC 9162 root of the tree of :attr:`size`."""
        return root_from_subtrees([self.node(n) for n in root_nodes(self.size)])

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of leaf ``index`` in the tree of :attr:`size`."""
        nodes = inclusion_nodes(index, self.size)
        return nodes.rehash([self.node(n) for n in nodes.ids])

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof from the tree of ``old_size`` leaves to this one:
        a monitor that saw the older checkpoint proves this one extends it, from tiles."""
        nodes = consistency_nodes(old_size, self.size)
        return nodes.rehash([self.node(n) for n in nodes.ids])

    def _tile(self, tile: TileID) -> list[bytes]:
        if tile not in self._tiles:
            self._tiles[tile] = hash_tile.decode(tile, self._fetch(tile))
        return self._tiles[tile]
