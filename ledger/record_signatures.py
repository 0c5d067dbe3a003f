"""The records a checkpoint is about to cover, checked for their signers' signatures.

The checkpointer signs the tree the store holds. A record an insider appended to the
store (its hashes and Merkle node made to fit, but its signature forged) would be signed
into the log with the rest, and from then on served as the signer's: a forged grant
opened a footprint to its "grantee". So before a checkpoint covers a record, its
signature must verify under the key it names, of the org it names, valid at the record's
seq (added before it and not yet rotated away or revoked).

A record this process's sequencer committed was checked at submission, and its leaf
hash binds its bytes, key id and signature: if the stored leaf is still the one the
sequencer committed, the record is the one it checked. Every other record (appended by
another process on the same database, left by a crash before a checkpoint, or put
there by hand) has its signature verified here, once, before it is signed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Connection, select

from ledger.committed_identity import CommittedIdentity
from ledger.errors import IntegrityError
from ledger.keys import verify_signature
from ledger.store.tables import RecordRow

_R = RecordRow.__table__.c  # type: ignore[attr-defined]

# Leaves remembered at most (about 100 bytes each): past this the oldest are forgotten
# and their records verified by signature instead (slower, not weaker).
_MAX_REMEMBERED = 1_000_000


class RecordSignatures:
    """The leaves this process's sequencer committed, and the check of the others."""

    def __init__(self, identity: CommittedIdentity) -> None:
        self._identity = identity
        self._sequenced: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def sequenced(self, leaves: Iterable[tuple[int, bytes]]) -> None:
        """Remember ``(seq, leaf hash)`` of records the sequencer committed."""
        with self._lock:
            self._sequenced.update(leaves)
            while len(self._sequenced) > _MAX_REMEMBERED:
                del self._sequenced[next(iter(self._sequenced))]

    def check(self, conn: Connection, first: int, size: int) -> None:
        """Raise ``IntegrityError`` for the first record of seqs ``[first, size)`` that
        this process did not commit as stored and whose signature does not verify under
        the key it names, of its org. Forgets what it checked (and anything below)."""
        with self._lock:
            mine = {s: h for s, h in self._sequenced.items() if first <= s < size}
            self._sequenced = {s: h for s, h in self._sequenced.items() if s >= size}
        stored = conn.execute(
            select(_R.seq, _R.leaf_hash).where(_R.seq >= first, _R.seq < size).order_by(_R.seq)
        )
        others = [seq for seq, leaf in stored if mine.get(seq) != bytes(leaf)]
        for start in range(0, len(others), 500):
            rows = conn.execute(
                select(_R.seq, _R.org_id, _R.key_id, _R.signature, _R.entry)
                .where(_R.seq.in_(others[start : start + 500]))
                .order_by(_R.seq)
            )
            for seq, org_id, key_id, signature, entry in rows:
                self._verify(seq, org_id, bytes(key_id), bytes(signature), bytes(entry), size)

    def _verify(
        self, seq: int, org_id: str, key_id: bytes, signature: bytes, entry: bytes, size: int
    ) -> None:
        key = self._identity.current().keys.get(key_id)
        if key is None:  # added by a record another process appended: follow the log
            key = self._identity.catch_up().keys.get(key_id)
        if key is None or key.org_id != org_id:
            reason = "names a key that is not its org's"
        elif not key.added_seq <= seq <= (size if key.ended_seq is None else key.ended_seq):
            # a key rotated away or revoked (perhaps because it leaked) signs nothing after
            # the record that ended it (an org signs its own rotation with the old key)
            reason = f"names a key that was not valid at seq {seq}"
        elif not verify_signature(key.public_key, signature, entry):
            reason = "has a signature that does not verify under the key it names"
        else:
            return
        raise IntegrityError(seq, f"record {seq} {reason}; refusing to sign size {size}")
