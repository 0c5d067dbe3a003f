"""c2sp.org/tlog-proof@v1: an offline-verifiable proof that an entry is logged.

Text format, lines separated by newlines::

    c2sp.org/tlog-proof@v1
    extra <base64>            optional, opaque, unauthenticated
    index <decimal>           the entry's leaf index, no leading zeros
    <base64 hash>...          the RFC 9162 inclusion proof, leaf's sibling first
                              (an empty line)
    <checkpoint note>         verbatim, signatures and cosignatures included

This module only encodes and parses; what ``extra`` carries and how the proof is
checked belong to the application (``ledger.entry_proof``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.merkle import HASH_SIZE
from ledger.note.decimal import UINT64_DIGITS, parse_decimal, shown
from ledger.note.errors import InvalidProofError
from ledger.note.signed_note import b64encode, strict_b64decode

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
PROOF_SUFFIX = ".tlog-proof"
"""The file extension the spec recommends for stored proofs."""


@dataclass(frozen=True)
class TlogProof:
    """One proof: leaf ``index``, its inclusion ``proof`` in the tree of the
    ``checkpoint`` note (kept verbatim), and optional ``extra`` bytes."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def to_text(self) -> str:
        """The proof in the spec's text format."""
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> TlogProof:
        """Parse a proof strictly (canonical base64 and decimals, 32-byte hashes, a
        non-empty checkpoint); raises :class:`InvalidProofError`. The checkpoint's
        signatures are not checked here."""
        head, blank, checkpoint = text.partition("\n\n")
        if not blank or not checkpoint:
            raise InvalidProofError("a tlog-proof needs an empty line and then a checkpoint")
        lines = head.split("\n")
        if lines[0] != PROOF_HEADER:
            raise InvalidProofError(f"a tlog-proof starts with the line {PROOF_HEADER!r}")
        rest = lines[1:]
        extra = None
        if rest and rest[0].startswith("extra "):
            extra = _base64(rest.pop(0).removeprefix("extra "), "extra data")
        if not rest or not rest[0].startswith("index "):
            raise InvalidProofError("the line after the header (and extra) must be 'index N'")
        index_text = rest.pop(0).removeprefix("index ")
        index = parse_decimal(index_text)
        if index is None:
            raise InvalidProofError(
                f"index {shown(index_text)} is not a canonical decimal of at most "
                f"{UINT64_DIGITS} digits"
            )
        proof = tuple(_base64(line, "a proof hash") for line in rest)
        if any(len(h) != HASH_SIZE for h in proof):
            raise InvalidProofError(f"every proof hash must be {HASH_SIZE} bytes")
        return cls(index, proof, checkpoint, extra)


def _base64(text: str, what: str) -> bytes:
    try:
        return strict_b64decode(text)
    except ValueError as exc:
        raise InvalidProofError(f"{what}: {exc}") from None
