"""c2sp.org/tlog-checkpoint: the signed note body that states a log's tree head.

Body format, every line ending in a newline::

    <origin>                  non-empty, identifies the log
    <tree size>               ASCII decimal, no leading zeros ("0" for empty)
    <root hash>               base64 of the 32-byte RFC 9162 root
    <extension line>...       optional, opaque, non-empty
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.note.decimal import UINT64_DIGITS, parse_decimal, shown
from ledger.note.errors import InvalidCheckpointError
from ledger.note.signed_note import (
    NoteSigner,
    Verifier,
    b64encode,
    open_note,
    sign_note,
    strict_b64decode,
)

ROOT_HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in every deployed log (and in RFC 9162)."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash, plus optional extension lines.

    Construction validates every field, so :meth:`to_text` always yields a body
    that :meth:`parse` accepts and that round-trips exactly.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", e) for e in self.extensions)]:
            if not line or "\n" in line:
                raise InvalidCheckpointError(f"{what} line must be non-empty, without newline")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidCheckpointError(f"tree size {self.size} is not a uint64")
        if len(self.root_hash) != ROOT_HASH_SIZE:
            raise InvalidCheckpointError(
                f"root hash has {len(self.root_hash)} bytes, want {ROOT_HASH_SIZE}"
            )

    def to_text(self) -> str:
        """The note text (body) of this checkpoint."""
        root = b64encode(self.root_hash)
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly; raises :class:`InvalidCheckpointError`."""
        if not text.endswith("\n"):
            raise InvalidCheckpointError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidCheckpointError("checkpoint needs origin, size and root hash lines")
        origin, size, root, *extensions = lines
        tree_size = parse_decimal(size)
        if tree_size is None:
            raise InvalidCheckpointError(
                f"tree size {shown(size)} is not a canonical decimal of at most "
                f"{UINT64_DIGITS} digits"
            )
        try:
            root_hash = strict_b64decode(root)
        except ValueError as exc:
            raise InvalidCheckpointError(f"root hash: {exc}") from exc
        return cls(origin, tree_size, root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """Sign ``checkpoint`` as a note with the log's key.

    The spec says the log's key name SHOULD match the origin; this is not
    enforced here, but :func:`open_checkpoint` checks the origin it expects.
    """
    return sign_note(checkpoint.to_text(), signer)


def open_checkpoint(note: str | bytes, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a checkpoint note with the log's key and return the parsed checkpoint.

    Other signatures (such as witness cosignatures) are ignored. The origin
    line must equal ``origin``, by default the key name (the spec's
    convention), so a checkpoint of one log is never taken for another's.
    """
    checkpoint = Checkpoint.parse(open_note(note, [verifier]).text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise InvalidCheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {expected!r}"
        )
    return checkpoint
