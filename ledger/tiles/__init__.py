"""C2SP tlog-tiles: tile coordinates and paths (:mod:`.tile_id`), hash tiles
(:mod:`.hash_tile`), entry bundles (:mod:`.entry_bundle`) and a client that
rebuilds roots and proofs from tiles (:mod:`.tile_reader`). Errors are typed
(:mod:`.errors`)."""

from ledger.tiles.errors import TileError, TilePathError, TileSizeError
from ledger.tiles.tile_id import (
    ENTRIES,
    MAX_LEVEL,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileID,
    encode_index,
    parse_tile_path,
)
from ledger.tiles.tile_reader import TileFetcher, TileReader

__all__ = [
    "ENTRIES",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileError",
    "TileFetcher",
    "TileID",
    "TilePathError",
    "TileReader",
    "TileSizeError",
    "encode_index",
    "parse_tile_path",
]
