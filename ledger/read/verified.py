"""Verified reads: a stored record is served only once the signed tree proves it.

Anyone with write access to the database can edit a row; only the ledger's key can
sign a checkpoint. So before a reader (gRPC ``GetEntry``/``StreamEntries``, the
gateway's PACT and ``/v1`` reads) serves a record, ``VerifiedLog`` checks, from the
row alone and never trusting a stored hash:

1. ``entry_hash = SHA-256(entry bytes)``, and the stored ``entry_hash`` agrees;
2. the 177-byte leaf rebuilt from the record's fields (``ledger.record.Record``) and its
   leaf hash, and the stored ``leaf_hash`` and ``chain_hash`` agree;
3. the entry's ``entryId``, ``type`` and ``org`` equal the row's ``entry_id``,
   ``entry_type`` and ``org_id`` (readers decide visibility with them);
4. the leaf is included in the latest checkpoint, whose note signature is verified
   with the ledger's key: a page of records at once, by rebuilding the signed root from
   their leaves and the stored nodes covering the rest (``ledger.merkle.leaf_set``),
   and only if that fails by a proof per record, which names the ones that fail.

Step 4 (one database query and about one hash per record) is done once per seq per
process:
the proven record is remembered as one 32-byte digest binding its leaf hash, chain
hash and the three columns. A proven seq stays proven: the checkpointer signs a new
checkpoint only if it is consistent with the previous one. Every later read re-runs
steps 1-2 and compares the digest (three SHA-256 over the row: microseconds), so an
edit of the bytes after they were proven is still refused. The cache holds at most
``cache_size`` seqs (first in, first out; about 150 bytes each in CPython, so the
default of 262,144 costs some 40 MB at most); an evicted seq is simply proven again.

A failure raises ``IntegrityError`` and is reported to the ``IntegrityMonitor``: one
alarm line per failing seq, and the health endpoints answer "not serving" from then on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from sqlalchemy import Connection

from ledger.checkpointer import Checkpointer
from ledger.errors import IntegrityError
from ledger.merkle import (
    HASH_SIZE,
    MerkleError,
    NodeID,
    consistency_nodes,
    inclusion_nodes,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from ledger.merkle.leaf_set import covering_nodes, root_from_leaf_set
from ledger.note import Checkpoint, NoteError, open_checkpoint
from ledger.read.row_checks import check_row, row_binding
from ledger.store.log import (
    LogStore,
    NodeReader,
    StoredRecord,
    latest_checkpoint,
    log_size,
    record_at,
    records_at,
)

DEFAULT_CACHE_SIZE = 262_144
_PROOF_PAGE = 256  # records proven with one query for their proofs' nodes
_T = TypeVar("_T")


class VerifiedLog:
    """The records and inclusion proofs readers may serve (see the module docstring)."""

    def __init__(
        self,
        store: LogStore,
        checkpointer: Checkpointer,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.store = store
        self.monitor = checkpointer.monitor  # one per process: health reads it
        self._checkpointer = checkpointer
        self._verifier = checkpointer.signer.verifier()
        self._cache_size = cache_size
        self._proven: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._checkpoint: Checkpoint | None = None  # the latest one verified

    # -- records ------------------------------------------------------------------

    def record(self, seq: int, conn: Connection | None = None) -> StoredRecord | None:
        """The record at ``seq``, verified; None if there is none. Reads on ``conn`` when
        given (the gateway's own connections), else on the store's pool."""
        with self._connection(conn) as c:
            found = record_at(c, seq)
            if found is None:
                if self._deleted(seq):
                    raise self._missing(seq)
                return None
            return self.verify(found, c)

    def proven_records(
        self, seqs: Iterable[int], conn: Connection | None = None
    ) -> list[StoredRecord]:
        """The records at ``seqs`` that the signed tree proves, in seq order, read and
        proven a page at a time (one proof per page) where ``record`` would prove each:
        for a reader about to read many scattered records. Missing records and records
        that fail are left out, unreported: reading one with ``record`` then fails, and
        reports, exactly as it would have."""
        ordered = sorted(set(seqs))
        proven: list[StoredRecord] = []
        with self._connection(conn) as c:
            for start in range(0, len(ordered), _PROOF_PAGE):
                page = records_at(c, ordered[start : start + _PROOF_PAGE])
                failures = self._prove(page, c)
                proven.extend(r for r in page if r.seq not in failures)
        return proven

    def record_by_entry_id(self, entry_id: str) -> StoredRecord | None:
        found = self.store.record_by_entry_id(entry_id)
        return None if found is None else self.verify(found)

    def records(
        self, start: int, stop: int, *, types: Iterable[str] | None = None
    ) -> Iterator[StoredRecord]:
        """Records with start <= seq < stop in order (only those of ``types`` when given),
        each verified before it is yielded (a page at a time: one proof per page).

        Every record of the range is read and verified, and ``types`` picks from the
        verified ones: the ``entry_type`` column is checked against the entry only once
        read, so a filter on it in SQL would skip a record an insider retyped (or
        deleted) without a word, and the engine would compute without it."""
        wanted = None if types is None else frozenset(types)
        page: list[StoredRecord] = []
        expected = start
        for found in self.store.records(start, stop):
            if found.seq != expected and self._deleted(expected):
                yield from _of_types(self._verified_page(page), wanted)
                raise self._missing(expected)
            expected = found.seq + 1
            page.append(found)
            if len(page) == _PROOF_PAGE:
                yield from _of_types(self._verified_page(page), wanted)
                page = []
        yield from _of_types(self._verified_page(page), wanted)
        if expected < stop and self._deleted(expected):
            raise self._missing(expected)

    def size_at_least(self, size: int) -> int:
        """``size`` (a log size a reader queried), or the newest checkpoint this process
        signed or trusted if that is larger. Records the signed tree holds are never
        taken as absent: a store whose log seems shorter (records deleted, or a seq
        rewritten so that it no longer counts) is read up to the signed size, and the
        missing records raise the alarm instead of an older state being served."""
        return max(size, self._checkpointer.trusted_size)

    def _deleted(self, seq: int) -> bool:
        """Whether ``seq``, not found by a read, was deleted: seqs are dense and never
        removed, so it was if a transaction begun now still has no record at ``seq`` but
        a later one, or a checkpoint trusted before it began covers ``seq``. (A caller's
        snapshot may predate an append: it is not asked.)"""
        cached = self._checkpoint
        signed = self.size_at_least(cached.size if cached is not None else 0)
        with self.store.db.read() as fresh:
            if record_at(fresh, seq) is not None:
                return False
            return 0 <= seq < max(signed, log_size(fresh))

    def _missing(self, seq: int) -> IntegrityError:
        """The failure of a seq below the log's size with no record (deleted behind the
        ledger's back), reported."""
        missing = IntegrityError(seq, "the log has later records but none at this seq")
        self.monitor.report(missing)
        return missing

    def verify(self, record: StoredRecord, conn: Connection | None = None) -> StoredRecord:
        """``record`` itself if the signed tree proves it; else ``IntegrityError``."""
        for verified in self._verified_page([record], conn):
            return verified
        raise AssertionError("unreachable: a page of one yields or raises")

    def _verified_page(
        self, page: list[StoredRecord], conn: Connection | None = None
    ) -> Iterator[StoredRecord]:
        failures = self._prove(page, conn)
        for record in page:
            failure = failures.get(record.seq)
            if failure is not None:
                self.monitor.report(failure)
                raise failure
            yield record

    def _prove(
        self, page: list[StoredRecord], conn: Connection | None
    ) -> dict[int, IntegrityError]:
        """Check every record of ``page``, proving the ones not proven before; the failures
        by seq (the others are remembered as proven)."""
        failures: dict[int, IntegrityError] = {}
        pending: list[tuple[StoredRecord, bytes]] = []
        for record in page:
            try:
                digest = row_binding(record)
                if self._proven.get(record.seq) != digest:
                    check_row(record)
                    pending.append((record, digest))
            except IntegrityError as exc:
                failures[record.seq] = exc
        if not pending:
            return failures
        with self._connection(conn) as c:
            last = pending[-1][0].seq
            try:
                signed = self._signed_checkpoint(c, last, last + 1)
            except IntegrityError as exc:
                return failures | {r.seq: IntegrityError(r.seq, exc.reason) for r, _ in pending}
            if self._page_proven(c, [r for r, _ in pending], signed):
                for record, digest in pending:
                    self._remember(record.seq, digest)
                return failures
            # Something in the page is wrong: a proof per record says which.
            proofs = {r.seq: inclusion_nodes(r.seq, signed.size) for r, _ in pending}
            stored = self._nodes(c, {i for nodes in proofs.values() for i in nodes.ids})
        for record, digest in pending:
            nodes = proofs[record.seq]
            missing = [i for i in nodes.ids if i not in stored]
            if missing:
                failures[record.seq] = IntegrityError(
                    record.seq, f"merkle nodes of its inclusion proof are missing: {missing[:4]}"
                )
                continue
            try:
                proof = nodes.rehash([stored[i] for i in nodes.ids])
                root = root_from_inclusion_proof(record.leaf_hash, record.seq, signed.size, proof)
            except MerkleError as exc:  # a stored node that is not a hash at all
                failures[record.seq] = IntegrityError(record.seq, f"its proof is malformed: {exc}")
                continue
            if root != signed.root_hash:
                failures[record.seq] = IntegrityError(
                    record.seq,
                    f"the record is not in the signed checkpoint of size {signed.size} "
                    "(its entry, leaf or the stored Merkle nodes were changed)",
                )
                continue
            self._remember(record.seq, digest)
        return failures

    def _page_proven(self, conn: Connection, page: list[StoredRecord], signed: Checkpoint) -> bool:
        """Whether the signed root is the root of the tree with ``page``'s leaves and the
        stored nodes covering the rest (``ledger.merkle.leaf_set``): one proof for the
        whole page, about one hash per record. False says only that some record, or a
        node, is not as signed."""
        seqs = [r.seq for r in page]
        try:
            wanted = covering_nodes(seqs, signed.size)
        except (MerkleError, ValueError):  # seqs out of order or outside the tree
            return False
        stored = self._nodes(conn, wanted)  # a node stored as another type reads empty
        if len(stored) < len(wanted) or any(len(h) != HASH_SIZE for h in stored.values()):
            return False
        leaves = [r.leaf_hash for r in page]
        return root_from_leaf_set(seqs, leaves, signed.size, stored) == signed.root_hash

    def _nodes(self, conn: Connection, wanted: Collection[NodeID]) -> dict[NodeID, bytes]:
        """The stored ones of ``wanted``. ``conn``'s snapshot may predate the checkpoint
        (signed meanwhile by another thread, or cached from a newer read): a transaction
        begun now sees every node of it, as a checkpoint is signed only over committed
        nodes."""
        stored = NodeReader(conn).found(wanted)
        if len(stored) < len(wanted):
            with self.store.db.read() as fresh:
                stored = NodeReader(fresh).found(wanted)
        return stored

    def _remember(self, seq: int, digest: bytes) -> None:
        with self._lock:
            self._proven[seq] = digest
            while len(self._proven) > self._cache_size:
                del self._proven[next(iter(self._proven))]

    # -- proofs ---------------------------------------------------------------------

    def inclusion_proof(self, record: StoredRecord, size: int) -> list[bytes]:
        """The inclusion proof of a verified ``record`` in the tree of ``size``, checked
        before it is served against the root at ``size`` (see ``_root_at``)."""

        def checked(signed: Checkpoint) -> list[bytes]:
            proof = self.store.inclusion_proof(record.seq, size)
            verify_inclusion(record.leaf_hash, record.seq, size, proof, self._root_at(size, signed))
            return proof

        return self._checked_proof(
            record.seq, size, f"its inclusion proof at tree size {size}", checked
        )

    def leaf_inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        """The checked inclusion proof of the leaf at ``seq`` (below ``size``), for the
        public proof endpoints: its record is verified first, as for any read."""
        record = self.record(seq)
        if record is None:
            missing = IntegrityError(seq, "the tree has this leaf but the log has no record")
            self.monitor.report(missing)
            raise missing
        return self.inclusion_proof(record, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The consistency proof from the tree of ``first`` to ``second``, checked before it
        is served against the roots at both sizes (see ``_root_at``). Sizes that admit no
        proof raise ``MerkleError`` (the caller's mistake, not the store's); a proof that
        does not verify is reported against the last record of the larger tree."""
        consistency_nodes(first, second)

        def checked(signed: Checkpoint) -> list[bytes]:
            proof = self.store.consistency_proof(first, second)
            roots = self._root_at(first, signed), self._root_at(second, signed)
            verify_consistency(first, second, proof, *roots)
            return proof

        what = f"the consistency proof from tree size {first} to {second}"
        return self._checked_proof(second - 1, second, what, checked)

    def root(self, size: int) -> bytes:
        """The root of the tree of ``size`` (1 <= size <= the log's size), as the signed
        checkpoint vouches for it (see ``_root_at``): what served tiles must fold into."""
        return self._checked_proof(
            size - 1,
            size,
            f"the root at tree size {size}",
            lambda signed: self._root_at(size, signed),
        )

    def _checked_proof(
        self, seq: int, size: int, what: str, checked: Callable[[Checkpoint], _T]
    ) -> _T:
        """``checked(signed)`` with the signed checkpoint covering ``size``; a proof that
        does not verify is an ``IntegrityError`` against ``seq``, reported once."""
        try:
            with self.store.db.read() as conn:
                signed = self._signed_checkpoint(conn, seq, size)
            try:
                return checked(signed)
            except (LookupError, MerkleError) as exc:
                raise IntegrityError(
                    seq,
                    f"{what} does not verify against the signed checkpoint of size "
                    f"{signed.size} ({exc})",
                ) from None
        except IntegrityError as exc:
            self.monitor.report(exc)
            raise

    def _root_at(self, size: int, signed: Checkpoint) -> bytes:
        """The root of the tree of ``size``: the signed one at its own size, else the one
        from the stored nodes once a consistency proof ties it to the signed root."""
        if size == signed.size:
            return signed.root_hash
        root = self.store.root(size)
        consistency = self.store.consistency_proof(size, signed.size)
        verify_consistency(size, signed.size, consistency, root, signed.root_hash)
        return root

    # -- the signed tree head ----------------------------------------------------------

    def _signed_checkpoint(self, conn: Connection, seq: int, at_least: int) -> Checkpoint:
        """The latest checkpoint, its note verified with the ledger's key, covering at least
        ``at_least`` records (signing one first if the log has grown past the last); a
        failure is reported against record ``seq``."""
        cached = self._checkpoint
        if cached is not None and cached.size >= at_least:
            return cached  # verified before; every later one is consistent with it
        row = latest_checkpoint(conn)
        if row is None or row.size < at_least:
            row = self._checkpointer.latest()
        try:
            opened = open_checkpoint(row.note, self._verifier, self._checkpointer.origin)
        except NoteError as exc:
            raise IntegrityError(seq, f"the stored checkpoint does not verify: {exc}") from None
        if opened.size < at_least:
            raise IntegrityError(seq, f"no signed checkpoint covers it (size {opened.size})")
        self._checkpoint = opened
        return opened

    def _connection(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        return nullcontext(conn) if conn is not None else self.store.db.read()


def _of_types(
    records: Iterable[StoredRecord], types: frozenset[str] | None
) -> Iterator[StoredRecord]:
    """The verified ``records`` whose type is one of ``types`` (all when None)."""
    return iter(records) if types is None else (r for r in records if r.entry_type in types)
