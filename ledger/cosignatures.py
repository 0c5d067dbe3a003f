"""Accepting witness cosignatures and serving checkpoints with them appended.

Every line must be a well-formed C2SP signature line whose payload has the
``cosignature/v1`` shape (4-byte key ID, 8-byte timestamp, 64-byte signature)
and name a checkpoint size the ledger signed. Each size keeps at most one line
per witness key (name and key ID) and at most ``MAX_COSIGNATURES`` keys, so a
note stays well under the signed-note limit of 100 signature lines.

Only the witnesses the operator configured (``serve --witness VKEY``) may
cosign, and each line's Ed25519 signature must verify over its checkpoint:
otherwise anyone could fill a checkpoint's slots with lines no verifier trusts
and crowd the real witnesses out. Test setups without agreed witnesses can
open witnessing (``serve --open-witnessing``): lines of other keys are then
kept unverified (verifiers check lines with the witness keys they pin;
``open_note`` ignores unknown ones), but they never take the slots kept for
configured witnesses, and one network (an IPv4 address, an IPv6 /64) adds at
most ``SLOTS_PER_NETWORK`` keys per checkpoint, so one client cannot fill the
slots alone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Sequence

from sqlalchemy import Connection, select

from ledger.errors import (
    ConflictError,
    MalformedEntryError,
    PermissionDeniedError,
    QuotaExceededError,
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
    put_cosignature,
)
from ledger.store.log import LogStore, stored_note
from ledger.store.tables import BIGINT_MAX, CheckpointRow

MAX_COSIGNATURES = 32
_CHECKED_KEPT = 4096
# New slots of one checkpoint that one network may take for unconfigured keys.
SLOTS_PER_NETWORK = 4
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

    def __init__(
        self,
        store: LogStore,
        witnesses: Sequence[CosignatureVerifier] = (),
        *,
        open_witnessing: bool = False,
    ) -> None:
        """``witnesses``: the keys whose cosignatures are accepted and verified.
        ``open_witnessing``: also keep other keys' well-formed lines, unverified,
        within the quotas described in the module docstring."""
        self.store = store
        self._witnesses = {(w.name, w.key_hash): w for w in witnesses}
        self._open = open_witnessing
        self._new_slots = _SlotsByNetwork(SLOTS_PER_NETWORK)
        # (note, line) -> what is wrong with serving it ("" if nothing): a line is
        # verified once, not at every checkpoint request.
        self._checked: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def add(self, size: int, line: str, peer: str = "") -> None:
        """Keep ``line`` for the checkpoint of ``size``.

        ``peer`` is the gRPC peer that sent it (``ipv4:HOST:PORT``...), for the
        open-witnessing quota. Raises a ``LedgerError`` when the line is malformed,
        no checkpoint of ``size`` was signed, the key is not a configured witness
        (unless witnessing is open) or its signature does not verify, or the slots
        the line would take are used up.
        """
        name, key_hash, timestamp, normal = parse_cosignature(line)
        witness = self._witnesses.get((name, key_hash))
        if witness is None and not self._open:
            raise PermissionDeniedError(
                f"{name} (key ID {key_hash.hex()}) is not a witness this ledger accepts; "
                "the operator lists each agreed witness with `carbonledger serve --witness VKEY` "
                "(test setups may accept any key with --open-witnessing)",
                "signature_line",
            )
        with self.store.db.write() as conn:
            note = signed_note(conn, size)
            if note is None:
                raise UnknownReferenceError(f"no checkpoint of size {size} was signed", "size")
            if witness is not None:
                try:
                    verify_cosignature(note_text(note), normal, witness)
                except InvalidCosignatureError as exc:
                    raise SignatureError(
                        f"{exc} over the checkpoint of size {size}", "signature_line"
                    ) from None
            keys = _stored_keys(cosignature_lines(conn, size))
            if (name, key_hash) not in keys:
                self._check_room(size, keys, witness is not None)
                if witness is None:
                    self._new_slots.take(size, network_of(peer), (name, key_hash))
            put_cosignature(conn, size, name, key_hash, timestamp, normal)

    def _check_room(self, size: int, keys: set[tuple[str, bytes]], configured: bool) -> None:
        """Refuse a new slot when the checkpoint is full; lines of unconfigured keys
        may never take the slots kept for the configured witnesses."""
        if configured:
            taken, room = len(keys), MAX_COSIGNATURES
        else:
            taken = sum(1 for key in keys if key not in self._witnesses)
            room = MAX_COSIGNATURES - len(self._witnesses)
        if taken >= room:
            kind = "" if configured else " of unconfigured keys"
            raise ConflictError(
                f"checkpoint {size} already carries {room} cosignatures{kind}", "size"
            )

    def was_signed(self, size: int) -> bool:
        with self.store.db.read() as conn:
            return signed_note(conn, size) is not None

    def servable(self, note: str, lines: list[str]) -> tuple[list[str], list[str]]:
        """Which stored ``lines`` may be served with ``note``: a configured witness's line
        only if its signature verifies over it, another key's well-formed line only while
        witnessing is open. Checked when served, not only when added: a row written
        behind the ledger's back (a line claiming the ledger's own key, say) is not
        served. Returns (lines to serve, what is wrong with each other one)."""
        kept, refused = [], []
        for line in lines:
            problem = self._checked.get((note, line))
            if problem is None:
                problem = self._problem(note, line)
                with self._lock:
                    if len(self._checked) >= _CHECKED_KEPT:
                        self._checked.clear()
                    self._checked[(note, line)] = problem
            if problem:
                refused.append(problem)
            elif line not in kept:  # two rows may hold one line
                kept.append(line)
        return kept, refused

    def _problem(self, note: str, line: str) -> str:
        """What is wrong with serving ``line`` with ``note`` ("" if nothing)."""
        try:
            name, key_hash, _, normal = parse_cosignature(line)
        except MalformedEntryError as exc:
            return f"a stored cosignature line is malformed: {exc}"
        if normal != line:
            return f"the stored cosignature line of {name} is not in its normal form"
        witness = self._witnesses.get((name, key_hash))
        if witness is None:
            return "" if self._open else f"{name} is not a witness this ledger accepts"
        try:
            verify_cosignature(note_text(note), line, witness)
        except (InvalidCosignatureError, NoteError) as exc:
            return f"the stored cosignature of {name} does not verify: {exc}"
        return ""


class _SlotsByNetwork:
    """The witness keys each network took new slots for, per checkpoint size (open
    witnessing), so that one client cannot fill a checkpoint's slots alone.

    Kept in memory for the newest ``_SIZES_KEPT`` sizes (the smallest is forgotten
    first, so touching old checkpoints cannot reset the quota of the newest). At
    most ``MAX_COSIGNATURES`` keys are taken per size, so this stays small.
    """

    _SIZES_KEPT = 64

    def __init__(self, per_network: int) -> None:
        self._per_network = per_network
        self._taken: dict[int, dict[str, set[tuple[str, bytes]]]] = {}
        self._lock = threading.Lock()

    def take(self, size: int, network: str, key: tuple[str, bytes]) -> None:
        with self._lock:
            by_network = self._taken.setdefault(size, {})
            while len(self._taken) > self._SIZES_KEPT:
                del self._taken[min(self._taken)]
            keys = by_network.setdefault(network, set())
            if key not in keys and len(keys) >= self._per_network:
                raise QuotaExceededError(
                    f"{network} already added cosignatures of {len(keys)} keys to checkpoint "
                    f"{size}, the most one network may add while witnessing is open; "
                    "configure witnesses with `carbonledger serve --witness VKEY`",
                    "signature_line",
                )
            keys.add(key)


def network_of(peer: str) -> str:
    """Where a gRPC peer (``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``, ``unix:...``) speaks
    from: an IPv4 address, or the IPv6 /64 (what one host is usually given)."""
    kind, _, rest = peer.partition(":")
    host = rest.rsplit(":", 1)[0]
    if kind == "ipv4":
        return host
    if kind == "ipv6":
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_network(f"{host.strip('[]')}/64", strict=False))
        return host
    return peer or "unknown"


def _stored_keys(lines: list[str]) -> set[tuple[str, bytes]]:
    """The (name, key ID) of each stored line that parses: one that does not (written
    behind the ledger's back) is never served, and must not block a witness's line."""
    keys = set()
    for line in lines:
        with contextlib.suppress(MalformedEntryError):
            keys.add(parse_cosignature(line)[:2])
    return keys


def signed_note(conn: Connection, size: int) -> str | None:
    """The stored note of the checkpoint of ``size`` (unverified, ``stored_note``), or
    None."""
    if not 0 <= size <= BIGINT_MAX:
        return None
    note = conn.execute(select(_C.c.note).where(_C.c.size == size)).scalar()
    return None if note is None else stored_note(note)
