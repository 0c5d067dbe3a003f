"""Tree heads a reader proved from a signed checkpoint, without a signature of their own.

A record newer than the last signed checkpoint is proven against the tree that ends
with it, once an RFC 9162 consistency proof from the stored nodes ties that tree to a
signed checkpoint (or to a tree so proven before). The checkpointer checks exactly
that before it signs the next checkpoint, so signing one on the read path (a write
transaction per append, for every reader) would prove nothing more. See
``ledger.read.verified``, step 4.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ledger.errors import IntegrityError
from ledger.merkle import (
    MerkleError,
    NodeID,
    consistency_nodes,
    root_from_subtrees,
    root_nodes,
    verify_consistency,
)
from ledger.note import Checkpoint


@dataclass(frozen=True, slots=True)
class ProvenHead:
    """A tree head proven consistent with a signed checkpoint (not itself signed)."""

    size: int
    root_hash: bytes


def head_name(head: Checkpoint | ProvenHead) -> str:
    return "signed checkpoint" if isinstance(head, Checkpoint) else "tree proven from checkpoint"


def extension_nodes(base_size: int, size: int) -> tuple[NodeID, ...]:
    """The nodes that prove the tree of ``size`` from the one of ``base_size``
    (``0 < base_size <= size``; none when they are the same tree)."""
    if size == base_size:
        return ()
    return (*root_nodes(size), *consistency_nodes(base_size, size).ids)


class ProvenHeads:
    """The largest tree this process proved (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.newest: ProvenHead | None = None

    def extend(
        self,
        base: Checkpoint | ProvenHead,
        size: int,
        stored: dict[NodeID, bytes],
        seq: int,
    ) -> ProvenHead:
        """The tree of ``size`` records from the ``stored`` nodes (``extension_nodes``),
        once a consistency proof ties it to ``base``; ``IntegrityError`` against ``seq``
        otherwise (a missing node, or a tree that no longer extends ``base``)."""
        roots, consistency = root_nodes(size), consistency_nodes(base.size, size)
        try:
            missing = [i for i in (*roots, *consistency.ids) if i not in stored]
            if missing:
                raise LookupError(f"merkle nodes missing from the store: {missing[:4]}")
            root = root_from_subtrees([stored[i] for i in roots])
            proof = consistency.rehash([stored[i] for i in consistency.ids])
            verify_consistency(base.size, size, proof, base.root_hash, root)
        except (LookupError, MerkleError) as exc:
            raise IntegrityError(
                seq,
                f"the tree of {size} records is not consistent with the {head_name(base)} "
                f"of size {base.size} ({exc})",
            ) from None
        head = ProvenHead(size, root)
        with self._lock:
            if self.newest is None or self.newest.size < size:
                self.newest = head
        return head
