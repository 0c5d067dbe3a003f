"""A monitor that follows a ledger through its public C2SP tlog-tiles API alone
(``GET /tlog/checkpoint`` and hash tiles): no credentials, no gRPC, no database.

On each poll it checks the checkpoint with the pinned ledger key (a checkpoint of the
same origin signed by any other key is a fork and is refused), recomputes the root
from the tiles the checkpoint implies (``ledger.tiles.TileReader``, hashing with
``ledger.merkle``) and proves the new tree consistent with the last one it accepted,
with a consistency proof built from the same tiles. A tile the gateway will not serve
(it refuses one whose stored nodes no longer match the signed root) is an alarm too:
the log cannot back its own checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from clients.audit.checkpoints import CheckpointFailure, check_consistent, open_signed
from ledger.merkle import MerkleError
from ledger.note import Checkpoint, NoteVerifier
from ledger.tiles import TileError, TileFetcher, TileID, TileReader


class MonitorAlarm(Exception):
    """The log showed something a consistent, append-only log never shows."""


class TileMonitor:
    """Follows one log from ``last`` (the checkpoint accepted before, if any)."""

    def __init__(
        self,
        verifier: NoteVerifier,
        fetch_checkpoint: Callable[[], str],
        fetch_tile: TileFetcher,
        last: Checkpoint | None = None,
    ) -> None:
        self._verifier = verifier
        self._fetch_checkpoint = fetch_checkpoint
        self._fetch_tile = fetch_tile
        self.last = last

    def poll(self) -> Checkpoint:
        """Check the log's current checkpoint against the tiles and the last one
        accepted; accept and return it, or raise :class:`MonitorAlarm`."""
        try:
            checkpoint = open_signed(self._fetch_checkpoint(), self._verifier)
        except CheckpointFailure as exc:
            raise MonitorAlarm(exc.failure.reason) from None
        reader = TileReader(checkpoint.size, self._fetch_tile)
        try:
            root = reader.root()
            if root != checkpoint.root_hash:
                raise MonitorAlarm(
                    f"the tiles of the tree of size {checkpoint.size} do not hash to its "
                    "signed root"
                )
            if self.last is not None:
                last = self.last
                check_consistent(
                    last.size,
                    last.root_hash,
                    checkpoint,
                    lambda old, _: reader.consistency_proof(old),
                )
        except CheckpointFailure as exc:
            raise MonitorAlarm(exc.failure.reason) from None
        except (TileError, MerkleError) as exc:
            raise MonitorAlarm(
                f"the tiles of size {checkpoint.size} are malformed: {exc}"
            ) from None
        self.last = checkpoint
        return checkpoint


def gateway_monitor(
    http: httpx.Client, verifier: NoteVerifier, last: Checkpoint | None = None
) -> TileMonitor:
    """A monitor reading ``/tlog`` from the gateway ``http`` points at."""

    def checkpoint() -> str:
        answer = http.get("/tlog/checkpoint")
        answer.raise_for_status()
        return answer.text

    def tile(found: TileID) -> bytes:
        answer = http.get(f"/tlog/{found.path()}")
        if answer.status_code != httpx.codes.OK:
            raise MonitorAlarm(
                f"the gateway does not serve {found.path()}, which its checkpoint implies "
                f"({answer.status_code} {answer.text})"
            )
        return answer.content

    return TileMonitor(verifier, checkpoint, tile, last)
