"""Signing tree heads, and refusing to sign one inconsistent with an earlier one.

Checkpoints are signed on demand (and by the server's periodic refresh) under
the sequencer lock, so the size and root signed are exactly what is
committed. Before signing, the new root is proven consistent with the last
signed checkpoint from the stored nodes: a store whose nodes were altered
behind the ledger's back makes signing fail loudly instead of publishing a
fork: the refusal is an ``IntegrityError`` reported to the process's
``IntegrityMonitor``, so health says so whoever asked for the checkpoint (a reader,
the periodic refresh).
"""

from __future__ import annotations

import time

from sqlalchemy import Connection

from ledger.cosignatures import with_cosignatures
from ledger.errors import IntegrityError
from ledger.integrity_monitor import IntegrityMonitor
from ledger.merkle import MerkleError, consistency_nodes, verify_consistency
from ledger.note import Checkpoint, NoteError, NoteSigner, open_checkpoint, sign_checkpoint
from ledger.store.cosignature_table import cosignature_lines
from ledger.store.log import (
    LogStore,
    LogWriter,
    NodeReader,
    SignedCheckpointRow,
    latest_checkpoint,
)


class InconsistentCheckpointError(IntegrityError):
    """The store's current tree is not an extension of the last signed checkpoint.

    Reported against the newest stored record (``seq``), which no checkpoint can now
    cover: nothing past the last signed checkpoint is served until the store is repaired."""


class ForeignCheckpointError(RuntimeError):
    """The store's checkpoints are signed by another ledger key or for another origin.

    Signing on would serve checkpoints under a second key: every verifier pinned to the
    first would reject them, and two processes would each vouch for the log alone."""


class Checkpointer:
    def __init__(
        self, store: LogStore, signer: NoteSigner, monitor: IntegrityMonitor | None = None
    ) -> None:
        self.store = store
        self.signer = signer
        self.origin = signer.name
        self.monitor = monitor or IntegrityMonitor()

    def check_store(self) -> None:
        """Before a process appends anything: raise ``ForeignCheckpointError`` unless the
        newest stored checkpoint verifies under this process's key and origin, and
        ``InconsistentCheckpointError`` unless the stored tree extends it (signing the
        records past it). A new store has no checkpoint: any key may start it."""
        current = self.store.latest_checkpoint()
        if current is None:
            return
        try:
            open_checkpoint(current.note, self.signer.verifier(), self.origin)
        except NoteError as exc:
            raise ForeignCheckpointError(
                f"checkpoint {current.size} in this database does not verify with this "
                f"ledger's key {self.signer.vkey} and origin {self.origin!r} ({exc})"
            ) from None
        self.latest()

    def latest(self) -> SignedCheckpointRow:
        """The newest checkpoint, signing one first if the log has grown past it."""
        current = self.store.latest_checkpoint()
        if current is not None and current.size == self.store.tree_size():
            return current
        return self.refresh()

    def latest_note(self) -> str:
        """The newest checkpoint note with the witness cosignatures received for it appended."""
        latest = self.latest()
        with self.store.db.read() as conn:
            return with_cosignatures(latest.note, cosignature_lines(conn, latest.size))

    def refresh(self) -> SignedCheckpointRow:
        with self.store.db.write() as conn:
            writer = LogWriter(conn)
            previous = latest_checkpoint(conn)
            if previous is not None and previous.size == writer.size:
                return previous
            root = writer.compact.root()
            if previous is not None:
                try:
                    self._check_extends(conn, previous, writer.size, root)
                except InconsistentCheckpointError as exc:
                    self.monitor.report(exc)
                    raise
            checkpoint = Checkpoint(self.origin, writer.size, root)
            signed = SignedCheckpointRow(
                writer.size, root, sign_checkpoint(checkpoint, self.signer)
            )
            self.store.save_checkpoint(conn, signed, time.time_ns() // 1000)
            return signed

    @staticmethod
    def _check_extends(
        conn: Connection, previous: SignedCheckpointRow, size: int, root: bytes
    ) -> None:
        if size < previous.size:
            raise InconsistentCheckpointError(
                size, f"the log has {size} records but checkpoint {previous.size} was signed"
            )
        nodes = consistency_nodes(previous.size, size)
        proof = nodes.rehash(NodeReader(conn).get(nodes.ids))
        try:
            verify_consistency(previous.size, size, proof, previous.root_hash, root)
        except MerkleError as exc:
            raise InconsistentCheckpointError(
                size - 1,
                f"refusing to sign size {size}: not consistent with checkpoint "
                f"{previous.size} ({exc})",
            ) from None
