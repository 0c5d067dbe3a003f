"""Tiles and entry bundles served only once the signed tree proves them.

A hash tile is read from the stored Merkle nodes, which anyone with write access
to the database can edit. Before it is served, its hashes, after the stored
perfect subtrees left of it, are folded into the root of the tree that ends at
the tile's last hash (``ledger.tiles.hash_tile.root_through_tile``), and that
root must be the one ``VerifiedLog.root`` proves against the signed checkpoint.
Every hash of the tile feeds that root, so an edited node cannot pass without a
SHA-256 collision. Entry bundles are the leaves of records read through
``VerifiedLog.records`` (each proven in the signed tree). A failure is an
``IntegrityError`` against the tile's first leaf, reported to the same
``IntegrityMonitor`` as every other read.
"""

from __future__ import annotations

from typing import NoReturn

from ledger.errors import IntegrityError
from ledger.merkle import MerkleError
from ledger.read.verified import VerifiedLog
from ledger.store.log import NodeReader, StoredRecord
from ledger.tiles import TileError, TileID, entry_bundle, hash_tile


class VerifiedTiles:
    """Hash tiles and entry bundles of the log, each checked before it is served."""

    def __init__(self, log: VerifiedLog) -> None:
        self._log = log

    def hash_tile(self, tile: TileID) -> bytes:
        """The bytes of ``tile``. Precondition: it exists at the latest signed
        checkpoint's size (``hash_tile.exists_at``), so its nodes are committed."""
        seq = tile.first << tile.tree_level
        prefix_ids, ids = hash_tile.prefix_ids(tile), hash_tile.node_ids(tile)
        with self._log.store.db.read() as conn:
            stored = NodeReader(conn).found((*prefix_ids, *ids))
        missing = [n for n in (*prefix_ids, *ids) if n not in stored]
        if missing:
            self._fail(seq, f"merkle nodes of tile {tile.path()} are missing: {missing[:4]}")
        hashes = [stored[n] for n in ids]
        try:
            root = hash_tile.root_through_tile(tile, [stored[n] for n in prefix_ids], hashes)
        except (MerkleError, TileError) as exc:  # a stored node that is not a hash
            self._fail(seq, f"tile {tile.path()} is malformed: {exc}")
        size = hash_tile.tree_size_through(tile)
        if root != self._log.root(size):
            self._fail(
                seq,
                f"tile {tile.path()} does not fold into the signed root at tree size {size} "
                "(its stored Merkle nodes were changed)",
            )
        return hash_tile.encode(hashes)

    def bundle_records(self, tile: TileID) -> list[StoredRecord]:
        """The records whose leaves make up entry bundle ``tile``, each verified.
        Precondition: as for :meth:`hash_tile`, with ``tile`` at level 0."""
        first = tile.first
        records = list(self._log.records(first, tile.end))
        if [r.seq for r in records] != list(range(first, tile.end)):
            self._fail(first, f"records of entry bundle {tile.bundle_path()} are missing")
        return records

    def _fail(self, seq: int, reason: str) -> NoReturn:
        failure = IntegrityError(seq, reason)
        self._log.monitor.report(failure)
        raise failure


def bundle_bytes(records: list[StoredRecord]) -> bytes:
    """The entry bundle of verified ``records``: their 177-byte leaves, length-prefixed."""
    return entry_bundle.encode(r.as_record().leaf() for r in records)
