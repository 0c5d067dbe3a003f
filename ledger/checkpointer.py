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

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from ledger.cosignatures import Cosignatures, signed_note, with_cosignatures
from ledger.errors import IntegrityError
from ledger.integrity_monitor import IntegrityMonitor
from ledger.merkle import (
    CompactRange,
    MerkleError,
    consistency_nodes,
    root_nodes,
    verify_consistency,
)
from ledger.note import Checkpoint, NoteError, NoteSigner, open_checkpoint, sign_checkpoint
from ledger.record_signatures import RecordSignatures
from ledger.store.cosignature_table import cosignature_lines
from ledger.store.log import (
    LogStore,
    LogWriter,
    NodeReader,
    SignedCheckpointRow,
    checkpoint_table_edited,
    latest_checkpoint,
    log_size,
)

_T = TypeVar("_T")


class InconsistentCheckpointError(IntegrityError):
    """The store's current tree is not an extension of the last signed checkpoint.

    Reported against the newest stored record (``seq``), which no checkpoint can now
    cover: nothing past the last signed checkpoint is served until the store is repaired."""


class ForeignCheckpointError(RuntimeError):
    """The store's checkpoints are signed by another ledger key or for another origin.

    Signing on would serve checkpoints under a second key: every verifier pinned to the
    first would reject them, and two processes would each vouch for the log alone."""


class Checkpointer:
    """Signs the store's tree head, and is the one place that decides which stored
    checkpoint is trusted: the newest row whose note verifies under this ledger's key and
    origin, whose columns agree with its note, that is not older than (nor different from)
    a checkpoint this process signed or verified, and whose root the stored tree at its
    size has. Anything else is an ``IntegrityError``, reported to ``monitor``."""

    def __init__(
        self,
        store: LogStore,
        signer: NoteSigner,
        monitor: IntegrityMonitor | None = None,
        cosignatures: Cosignatures | None = None,
        signatures: RecordSignatures | None = None,
    ) -> None:
        """``cosignatures``: the witnesses whose stored lines are served with the notes
        (by default none); ``signatures``: the check of the records a new checkpoint
        covers (by default none: a tool signing a store it did not sequence)."""
        self.store = store
        self.signer = signer
        self.origin = signer.name
        self.monitor = monitor or IntegrityMonitor()
        self.cosignatures = cosignatures or Cosignatures(store)
        self._signatures = signatures
        self._verifier = signer.verifier()
        # The newest checkpoint this process signed or trusted, and its row as trusted:
        # a store that later shows an older or a different one lost rows or was forged.
        # Set only once committed, and read before a transaction begins, so that a
        # snapshot older than it (a reader begun before a signing) is not taken for one.
        self._known: Checkpoint | None = None
        self._trusted: SignedCheckpointRow | None = None
        self._lock = threading.Lock()

    @property
    def trusted_size(self) -> int:
        """The size of the newest checkpoint this process signed or trusted (0 if none):
        every seq below it has a record."""
        known = self._known
        return 0 if known is None else known.size

    def check_store(self) -> None:
        """Before a process appends anything: raise ``ForeignCheckpointError`` unless the
        newest stored checkpoint verifies under this process's key and origin, and
        ``InconsistentCheckpointError`` (or another ``IntegrityError``) unless the stored
        tree extends it (signing the records past it). A new store has no checkpoint: any
        key may start it."""
        self._reported(self._check_checkpoint_sizes)
        current = self.store.latest_checkpoint()
        if current is None:
            return
        try:
            open_checkpoint(current.note, self._verifier, self.origin)
        except NoteError as exc:
            raise ForeignCheckpointError(
                f"checkpoint {current.size} in this database does not verify with this "
                f"ledger's key {self.signer.vkey} and origin {self.origin!r} ({exc})"
            ) from None
        self.latest()

    def _check_checkpoint_sizes(self) -> None:
        """``InconsistentCheckpointError`` if a checkpoint row's size is not a whole number:
        the newest checkpoint moved out of the way (a negative size, say) would leave an
        older one to extend, and the records past it signed anew, while stopped. (While
        running, ``_opened`` refuses any checkpoint older than the one trusted.)"""
        with self.store.db.read() as conn:
            edited = checkpoint_table_edited(conn)
            if edited is not None:
                raise InconsistentCheckpointError(max(log_size(conn) - 1, 0), edited)

    def latest(self) -> SignedCheckpointRow:
        """The newest trusted checkpoint, signing one first if the log has grown past it.
        A row trusted before is returned after two small reads; a new one is checked in a
        read transaction (its note, and the stored tree's root at its size)."""
        known = self._known
        with self.store.db.read() as conn:
            row = latest_checkpoint(conn)
            size = log_size(conn)
            if row is not None and row.size == size:
                if row == self._trusted:
                    return row
                return self._reported(lambda: self._trust(conn, row, size, known))
        return self.refresh()

    def latest_note(self) -> str:
        """The newest checkpoint note with the witness cosignatures received for it appended."""
        latest = self.latest()
        return self._cosigned(latest.size, latest.note)

    def cosigned_note(self, size: int) -> str | None:
        """The note of the checkpoint of ``size`` with its cosignatures, or None if none
        was signed; ``IntegrityError`` (reported) if its stored note does not verify."""
        with self.store.db.read() as conn:
            note = signed_note(conn, size)
        if note is None:
            return None
        if note != (self._trusted.note if self._trusted else None):
            try:
                open_checkpoint(note, self._verifier, self.origin)
            except NoteError as exc:
                failure = IntegrityError(
                    max(size - 1, 0), f"the stored note of checkpoint {size} does not verify: {exc}"
                )
                self.monitor.report(failure)
                raise failure from None
        return self._cosigned(size, note)

    def _cosigned(self, size: int, note: str) -> str:
        """``note`` (verified) with the stored cosignatures that may be served with it; a
        stored line that may not is left out and reported (the store was changed)."""
        with self.store.db.read() as conn:
            lines = cosignature_lines(conn, size)
        kept, refused = self.cosignatures.servable(note, lines)
        for problem in refused[:1]:
            self.monitor.report(IntegrityError(max(size - 1, 0), problem))
        return with_cosignatures(note, kept)

    def refresh(self) -> SignedCheckpointRow:
        """Sign the stored tree if it has grown past the newest trusted checkpoint and
        extends it; the trusted checkpoint if it has not grown."""
        known = self._known
        with self.store.db.write() as conn:
            signed, checkpoint = self._reported(lambda: self._sign(conn, known))
        if checkpoint is not None:
            self._remember(checkpoint, signed)
        return signed

    def _sign(
        self, conn: Connection, known: Checkpoint | None
    ) -> tuple[SignedCheckpointRow, Checkpoint | None]:
        """The trusted newest checkpoint, or a new one signed (and the checkpoint it signs,
        to remember once committed)."""
        try:
            writer = LogWriter(conn)
        except (LookupError, MerkleError) as exc:  # nodes missing, or not hashes
            size = log_size(conn)
            raise InconsistentCheckpointError(
                max(size - 1, 0), f"the stored tree of size {size} cannot be read: {exc}"
            ) from None
        row = latest_checkpoint(conn)
        if row is not None and row.size >= writer.size:
            return self._trust(conn, row, writer.size, known), None
        root = writer.compact.root()
        if row is not None:
            previous = self._opened(row, writer.size, known)
            self._check_extends(conn, previous, writer.size, root)
        elif known is not None:
            raise InconsistentCheckpointError(
                known.size - 1,
                f"the store holds no checkpoint but this process trusted checkpoint "
                f"{known.size}: checkpoint rows were deleted",
            )
        if self._signatures is not None:
            self._signatures.check(conn, 0 if row is None else row.size, writer.size)
        checkpoint = Checkpoint(self.origin, writer.size, root)
        signed = SignedCheckpointRow(writer.size, root, sign_checkpoint(checkpoint, self.signer))
        self.store.save_checkpoint(conn, signed, time.time_ns() // 1000)
        return signed, checkpoint

    def _trust(
        self, conn: Connection, row: SignedCheckpointRow, records: int, known: Checkpoint | None
    ) -> SignedCheckpointRow:
        """``row``, the newest stored checkpoint, once checked against the stored tree
        (``records``: the log's size as ``conn`` saw it; another process may append
        meanwhile, so the root compared is the one at the checkpoint's size)."""
        opened = self._opened(row, records, known)
        if records < opened.size:
            raise InconsistentCheckpointError(
                records, f"the log has {records} records but checkpoint {opened.size} was signed"
            )
        try:
            stored = CompactRange(opened.size, NodeReader(conn).get(root_nodes(opened.size)))
        except (LookupError, MerkleError) as exc:
            raise InconsistentCheckpointError(opened.size - 1, str(exc)) from None
        if stored.root() != opened.root_hash:
            raise InconsistentCheckpointError(
                opened.size - 1,
                f"the stored tree of size {opened.size} does not have the root of the "
                f"signed checkpoint {opened.size}",
            )
        self._remember(opened, row)
        return row

    def _opened(
        self, row: SignedCheckpointRow, records: int, known: Checkpoint | None
    ) -> Checkpoint:
        """The checkpoint ``row``'s note signs, if the note verifies, the row's columns
        agree with it and it is not older than, nor different from, ``known`` (the newest
        this process signed or trusted before the transaction began); else
        ``IntegrityError`` (against the last record it covers)."""
        seq = max(min(row.size, records) - 1, 0)
        try:
            opened = open_checkpoint(row.note, self._verifier, self.origin)
        except NoteError as exc:
            raise IntegrityError(
                seq, f"the newest checkpoint row (size {row.size}) does not verify: {exc}"
            ) from None
        if (opened.size, opened.root_hash) != (row.size, row.root_hash):
            raise IntegrityError(
                seq, f"checkpoint row {row.size}'s size or root column differs from its note"
            )
        if known is not None and (
            opened.size < known.size
            or (opened.size == known.size and opened.root_hash != known.root_hash)
        ):
            raise InconsistentCheckpointError(
                known.size - 1,
                f"the newest stored checkpoint is {opened.size} but this process trusted "
                f"checkpoint {known.size} (root {known.root_hash.hex()[:16]}…): checkpoint "
                "rows were deleted or replaced",
            )
        return opened

    def _remember(self, checkpoint: Checkpoint, row: SignedCheckpointRow) -> None:
        with self._lock:
            if self._known is None or checkpoint.size >= self._known.size:
                self._known = checkpoint
                self._trusted = row

    def _reported(self, check: Callable[[], _T]) -> _T:
        try:
            return check()
        except IntegrityError as exc:
            self.monitor.report(exc)
            raise

    @staticmethod
    def _check_extends(conn: Connection, previous: Checkpoint, size: int, root: bytes) -> None:
        nodes = consistency_nodes(previous.size, size)
        try:
            proof = nodes.rehash(NodeReader(conn).get(nodes.ids))
            verify_consistency(previous.size, size, proof, previous.root_hash, root)
        except (LookupError, MerkleError) as exc:
            raise InconsistentCheckpointError(
                size - 1,
                f"refusing to sign size {size}: not consistent with checkpoint "
                f"{previous.size} ({exc})",
            ) from None
