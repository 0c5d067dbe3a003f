"""Accepting witness cosignatures and serving checkpoints with them appended.

Every line must be a well-formed C2SP signature line whose payload has the
``cosignature/v1`` shape (4-byte key ID, 8-byte timestamp, 64-byte signature)
and name a checkpoint size the ledger signed. When the operator configured
witness keys (``serve --witness VKEY``), only those witnesses may cosign and
each line's Ed25519 signature must verify over that checkpoint; otherwise
anyone could fill a checkpoint's witness slots with lines no verifier trusts.
Without configured witnesses the ledger cannot verify a line and keeps any
well-formed one; verifiers check lines with the witness keys they pin
(``open_note`` ignores lines of unknown keys). Each size keeps at most one
line per witness key and at most ``MAX_COSIGNATURES`` keys, so a note stays
well under the signed-note limit of 100 signature lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from ledger.errors import (
    ConflictError,
    MalformedEntryError,
    PermissionDeniedError,
    SignatureError,
    UnknownReferenceError,
)
from ledger.note import (
    CosignatureVerifier,
    InvalidCosignatureError,
    NoteError,
    note_text,
    parse_signature_line,
    verify_cosignature,
)
from ledger.store.cosignature_table import (
    MAX_NAME_LENGTH,
    cosignature_lines,
    count_cosignatures,
    put_cosignature,
)
from ledger.store.log import LogStore
from ledger.store.tables import BIGINT_MAX, CheckpointRow

MAX_COSIGNATURES = 32
_PAYLOAD = 8 + 64
_MAX_TIMESTAMP = 2**63 - 1
_C = CheckpointRow.__table__  # type: ignore[attr-defined]


def parse_cosignature(line: str) -> tuple[str, bytes, int, str]:
    """(key name, key ID, timestamp, normalised line) of a cosignature line, or raise.

    Raises :class:`~ledger.errors.MalformedEntryError` naming what is wrong.
    """
    text = line.removesuffix("\n")
    if "\n" in text:
        raise MalformedEntryError("one signature line expected", field="signature_line")
    try:
        sig = parse_signature_line(text)
    except NoteError as exc:
        raise MalformedEntryError(str(exc), field="signature_line") from None
    if len(sig.name) > MAX_NAME_LENGTH:
        raise MalformedEntryError(
            f"witness key names have at most {MAX_NAME_LENGTH} characters", field="signature_line"
        )
    if len(sig.signature) != _PAYLOAD:
        raise MalformedEntryError(
            f"a cosignature/v1 line carries {_PAYLOAD} bytes after the key ID, "
            f"got {len(sig.signature)}",
            field="signature_line",
        )
    timestamp = int.from_bytes(sig.signature[:8], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise MalformedEntryError("cosignature timestamp exceeds 2^63-1", field="signature_line")
    return sig.name, sig.key_hash, timestamp, sig.to_line()


def with_cosignatures(note: str, lines: list[str]) -> str:
    """``note`` with the cosignature ``lines`` appended after its own signature lines."""
    present = set(note.splitlines(keepends=True))
    return note + "".join(line for line in lines if line not in present)


class Cosignatures:
    """Stores cosignatures of the ledger's signed checkpoints, and serves them."""

    def __init__(self, store: LogStore, witnesses: Sequence[CosignatureVerifier] = ()) -> None:
        """``witnesses``: the only keys whose cosignatures are accepted (verified);
        empty: any well-formed line is kept."""
        self.store = store
        self._witnesses = {(w.name, w.key_hash): w for w in witnesses}

    def add(self, size: int, line: str) -> str:
        """Keep ``line`` for the checkpoint of ``size`` and return that note with its cosignatures.

        Raises a ``LedgerError`` when the line is malformed, no checkpoint of
        ``size`` was signed, the witness is not one of the configured ones or its
        signature does not verify, or the checkpoint already has its maximum of witnesses.
        """
        name, key_hash, timestamp, normal = parse_cosignature(line)
        witness = self._witnesses.get((name, key_hash))
        if self._witnesses and witness is None:
            raise PermissionDeniedError(
                f"{name} (key ID {key_hash.hex()}) is not a witness this ledger accepts",
                "signature_line",
            )
        with self.store.db.write() as conn:
            note = _signed_note(conn, size)
            if note is None:
                raise UnknownReferenceError(f"no checkpoint of size {size} was signed", "size")
            if witness is not None:
                try:
                    verify_cosignature(note_text(note), normal, witness)
                except InvalidCosignatureError as exc:
                    raise SignatureError(
                        f"{exc} over the checkpoint of size {size}", "signature_line"
                    ) from None
            lines = cosignature_lines(conn, size)
            mine = any(parse_cosignature(other)[:2] == (name, key_hash) for other in lines)
            if not mine and count_cosignatures(conn, size) >= MAX_COSIGNATURES:
                raise ConflictError(
                    f"checkpoint {size} already carries {MAX_COSIGNATURES} cosignatures", "size"
                )
            put_cosignature(conn, size, name, key_hash, timestamp, normal)
            return with_cosignatures(note, cosignature_lines(conn, size))

    def note(self, size: int) -> str | None:
        """The signed note of ``size`` with its cosignatures, or None if never signed."""
        with self.store.db.read() as conn:
            note = _signed_note(conn, size)
            return None if note is None else with_cosignatures(note, cosignature_lines(conn, size))


def _signed_note(conn: Connection, size: int) -> str | None:
    if not 0 <= size <= BIGINT_MAX:
        return None
    note = conn.execute(select(_C.c.note).where(_C.c.size == size)).scalar()
    return None if note is None else str(note)
