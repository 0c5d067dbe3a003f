"""c2sp.org/tlog-witness ``add-checkpoint``: the bodies exchanged, without the transport.

A client (the ledger's witness pusher) POSTs to ``<submission prefix>/add-checkpoint``::

    old <size>\\n             the size the witness last cosigned (0: unknown)
    <base64 hash>\\n...       the RFC 6962 consistency proof from it, at most 63 lines
    \\n
    <checkpoint note>        signed by the log, maybe with other signatures

and gets back ``200`` with cosignature lines, or ``409`` with the witness's size
(``<size>\\n``, ``text/x.tlog.size``) when the old size is not the one it holds.
Both sides use this module, so the format is written once; deciding what to
answer belongs to the witness (``clients.witness.core``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.merkle import HASH_SIZE
from ledger.note.decimal import UINT64_DIGITS, parse_decimal, shown
from ledger.note.errors import InvalidNoteError, InvalidWitnessRequestError
from ledger.note.signed_note import b64encode, parse_signature_line, strict_b64decode

ADD_CHECKPOINT = "/add-checkpoint"
"""Appended to a witness's submission prefix."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
"""Content type of a 409 answer naming the witness's latest cosigned size."""
MAX_PROOF_LINES = 63

_OLD = "old "


@dataclass(frozen=True)
class AddCheckpointRequest:
    """``old_size``: the size the client believes the witness cosigned last; ``proof``:
    the consistency proof from it to the checkpoint; ``note``: the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def to_body(self) -> bytes:
        if len(self.proof) > MAX_PROOF_LINES:
            raise InvalidWitnessRequestError(
                f"{len(self.proof)} consistency proof lines, at most {MAX_PROOF_LINES}"
            )
        lines = [f"{_OLD}{self.old_size}", *(b64encode(h) for h in self.proof), ""]
        return ("\n".join(lines) + "\n" + self.note).encode()

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Parse a request body strictly; raises :class:`InvalidWitnessRequestError`
        naming what is wrong (the witness answers 400)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWitnessRequestError("the request body is not UTF-8") from None
        head, blank, note = text.partition("\n\n")
        if not blank:
            raise InvalidWitnessRequestError(
                "the request needs an old size line, proof lines, an empty line and a checkpoint"
            )
        first, *proof_lines = head.split("\n")
        old = parse_decimal(first[len(_OLD) :]) if first.startswith(_OLD) else None
        if old is None:
            raise InvalidWitnessRequestError(
                f"the first line must be `old <size>` (a decimal without leading zeros, "
                f"at most {UINT64_DIGITS} digits), got {shown(first)}"
            )
        if len(proof_lines) > MAX_PROOF_LINES:
            raise InvalidWitnessRequestError(
                f"{len(proof_lines)} consistency proof lines, at most {MAX_PROOF_LINES}"
            )
        return cls(old, tuple(map(_proof_hash, proof_lines)), note)


def _proof_hash(line: str) -> bytes:
    try:
        raw = strict_b64decode(line)
    except ValueError as exc:
        raise InvalidWitnessRequestError(f"consistency proof line: {exc}") from None
    if len(raw) != HASH_SIZE:
        raise InvalidWitnessRequestError(
            f"consistency proof line {line[:60]!r} is {len(raw)} bytes, not a {HASH_SIZE}-byte hash"
        )
    return raw


def format_size(size: int) -> str:
    """The body of a 409 answer: the latest cosigned size."""
    return f"{size}\n"


def parse_size(body: bytes) -> int:
    """The size in a 409 answer's body; raises :class:`InvalidWitnessRequestError`."""
    text = body.decode("ascii", errors="replace")
    size = parse_decimal(text[:-1]) if text.endswith("\n") else None
    if size is None:
        raise InvalidWitnessRequestError(
            f"a size answer is `<decimal>\\n` (at most {UINT64_DIGITS} digits), got {shown(text)}"
        )
    return size


def signature_lines(body: bytes) -> list[str]:
    """The note signature lines (each with its newline) of a 200 answer; raises
    :class:`InvalidWitnessRequestError` when it is anything else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWitnessRequestError("the answer is not UTF-8") from None
    if not text.endswith("\n"):
        raise InvalidWitnessRequestError("the answer must be signature lines, each ending in \\n")
    lines = text[:-1].split("\n")
    for line in lines:
        try:
            parse_signature_line(line)
        except InvalidNoteError as exc:
            raise InvalidWitnessRequestError(str(exc)) from None
    return [f"{line}\n" for line in lines]
