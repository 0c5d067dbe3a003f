"""c2sp.org/signed-note: text signed by one or more Ed25519 keys.

Wire format (all base64 is standard RFC 4648 §4, with padding)::

    <text, ending in "\\n">
    <blank line>
    — <key name> base64(key ID (4 bytes) || signature)   (one line per signature)

A key ID is SHA-256(key name || "\\n" || signature type || public key)[:4];
a verifier key (vkey) is ``<name>+<hex key ID>+base64(signature type || public key)``.
Signatures from keys the caller does not know are kept but ignored; a note
is only accepted if at least one known key's signature verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.note.errors import (
    InvalidKeyError,
    InvalidNoteError,
    InvalidSignatureError,
    UnverifiedNoteError,
)

ED25519_ALG = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

KEY_HASH_SIZE = 4
MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16)."""

_SIG_PREFIX = "— "  # em dash U+2014, space


class Verifier(Protocol):
    """A known key: it matches signature lines by name and key ID, then checks them."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> bytes: ...

    def verify(self, text: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (the signature bytes after the key ID) signs ``text``."""
        ...


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, 4-byte key ID and the signature bytes after it."""

    name: str
    key_hash: bytes
    signature: bytes

    def to_line(self) -> str:
        """The signature line, including its final newline."""
        return f"{_SIG_PREFIX}{self.name} {b64encode(self.key_hash + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, and its signatures split by whether a known key verified them."""

    text: str
    verified_signatures: tuple[Signature, ...]
    unverified_signatures: tuple[Signature, ...]


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name: non-empty, no Unicode space, no ``+``.

    Control characters are refused too, since a note may not contain them.
    """
    if not name or "+" in name or any(c.isspace() or c < " " for c in name):
        raise InvalidKeyError(f"invalid key name {name!r}")
    return name


def key_hash(name: str, alg: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || alg || public_key)[:4]."""
    material = name.encode() + b"\n" + bytes([alg]) + public_key
    return hashlib.sha256(material).digest()[:KEY_HASH_SIZE]


def b64encode(raw: bytes) -> str:
    """Standard padded base64 (RFC 4648 §4) as text."""
    return base64.b64encode(raw).decode("ascii")


def strict_b64decode(text: str) -> bytes:
    """Decode standard padded base64, refusing any non-canonical encoding.

    Canonical only, so one value has one spelling and a note cannot be altered
    without changing the signed bytes or breaking a signature line.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 {text!r}") from exc
    if b64encode(raw) != text:
        raise ValueError(f"non-canonical base64 {text!r}")
    return raw


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32-byte RFC 8032 encoding of an Ed25519 public key."""
    return public_key.public_bytes_raw()


def format_key(name: str, alg: int, public_key: bytes) -> str:
    """Encode a vkey ``name+hexkeyID+base64(alg || public_key)`` of any signature type."""
    check_key_name(name)
    b64 = b64encode(bytes([alg]) + public_key)
    return f"{name}+{key_hash(name, alg, public_key).hex()}+{b64}"


def parse_key(vkey: str, alg: int) -> tuple[str, Ed25519PublicKey]:
    """Decode an Ed25519-based vkey of signature type ``alg``; check its key ID.

    Key names never contain '+', but standard base64 key material may, so only
    the first two '+' separate fields.
    """
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise InvalidKeyError(f"vkey needs three '+'-separated fields: {vkey!r}")
    name, hex_hash, b64 = parts
    check_key_name(name)
    try:
        material = strict_b64decode(b64)
    except ValueError as exc:
        raise InvalidKeyError(f"invalid vkey key material: {exc}") from exc
    if len(material) != 33 or material[0] != alg:
        raise InvalidKeyError(f"vkey is not a type 0x{alg:02x} Ed25519 key: {vkey!r}")
    if hex_hash != key_hash(name, alg, material[1:]).hex():
        raise InvalidKeyError(f"vkey key ID {hex_hash!r} does not match its name and key")
    return name, Ed25519PublicKey.from_public_bytes(material[1:])


def format_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The vkey of an Ed25519 note-signing key."""
    return format_key(name, ED25519_ALG, raw_public_key(public_key))


class NamedKey:
    """A named Ed25519 public key of one signature type (``ALG``): the parts every C2SP
    verifier shares (name, key hash, vkey form). Subclasses add ``verify``."""

    ALG: ClassVar[int]

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._name = check_key_name(name)
        self._public_key = public_key
        self._key_hash = key_hash(name, self.ALG, raw_public_key(public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse a vkey; raises :class:`InvalidKeyError` if malformed or of another type."""
        return cls(*parse_key(vkey, cls.ALG))

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_hash(self) -> bytes:
        return self._key_hash

    @property
    def vkey(self) -> str:
        return format_key(self._name, self.ALG, raw_public_key(self._public_key))

    @property
    def raw_key(self) -> bytes:
        """The 32-byte Ed25519 public key: two vkeys wrapping it are the same key."""
        return raw_public_key(self._public_key)


class NoteVerifier(NamedKey):
    """Checks plain Ed25519 (type 0x01) note signatures of one named key."""

    ALG = ED25519_ALG

    def verify(self, text: bytes, sig: bytes) -> bool:
        """Whether ``sig`` is this key's Ed25519 signature of ``text``."""
        try:
            self._public_key.verify(sig, text)
        except InvalidSignature:
            return False
        return True


K = TypeVar("K", bound=NamedKey)


class NamedSigner(Generic[K]):
    """A private key with the named public key (``K``) it signs as: the parts every C2SP
    signer shares. Subclasses add the signing operation of their type."""

    def __init__(self, verifier: K, private_key: Ed25519PrivateKey) -> None:
        self._verifier = verifier
        self._private_key = private_key

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_hash(self) -> bytes:
        return self._verifier.key_hash

    @property
    def vkey(self) -> str:
        return self._verifier.vkey

    def verifier(self) -> K:
        return self._verifier


class NoteSigner(NamedSigner[NoteVerifier]):
    """Signs note texts with one named Ed25519 key (signature type 0x01)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        super().__init__(NoteVerifier(name, private_key.public_key()), private_key)

    def sign(self, text: str) -> Signature:
        """Sign a note text (which must be valid, see :func:`sign_note`)."""
        sig = self._private_key.sign(_check_text(text).encode())
        return Signature(self.name, self.key_hash, sig)


def sign_note(text: str, *signers: NoteSigner) -> str:
    """Return the note: ``text``, a blank line, one signature line per signer.

    ``text`` must be non-empty, end with a newline and contain no control
    character other than newline; at least one signer is required.
    """
    if not signers:
        raise InvalidNoteError("a note needs at least one signer")
    return text + "\n" + "".join(s.sign(text).to_line() for s in signers)


def parse_signature_line(line: str) -> Signature:
    """Parse ``— <name> <base64>`` (without its newline) into a :class:`Signature`."""
    if not line.startswith(_SIG_PREFIX):
        raise InvalidNoteError(f"signature line must start with an em dash and space: {line!r}")
    fields = line[len(_SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise InvalidNoteError(f"signature line needs a key name and a signature: {line!r}")
    name, b64 = fields
    try:
        check_key_name(name)
        raw = strict_b64decode(b64)
    except (InvalidKeyError, ValueError) as exc:
        raise InvalidNoteError(f"malformed signature line {line!r}: {exc}") from exc
    if len(raw) <= KEY_HASH_SIZE:
        raise InvalidNoteError(f"signature too short in line {line!r}")
    return Signature(name, raw[:KEY_HASH_SIZE], raw[KEY_HASH_SIZE:])


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Parse ``note`` and check its signatures against the known ``verifiers``.

    Raises :class:`InvalidNoteError` for a malformed note,
    :class:`InvalidSignatureError` if a signature from a known key (same name
    and key ID) fails, and :class:`UnverifiedNoteError` if no known key signed.
    """
    text, lines = _split_note(note)
    known = {(v.name, v.key_hash): v for v in verifiers}
    verified: dict[tuple[str, bytes], Signature] = {}
    unverified: list[Signature] = []
    for line in lines:
        sig = parse_signature_line(line)
        verifier = known.get((sig.name, sig.key_hash))
        if verifier is None:
            unverified.append(sig)
        elif not verifier.verify(text.encode(), sig.signature):
            raise InvalidSignatureError(f"signature by known key {sig.name} does not verify")
        else:
            verified.setdefault((sig.name, sig.key_hash), sig)
    if not verified:
        raise UnverifiedNoteError("note has no verified signature from a known key")
    return Note(text, tuple(verified.values()), tuple(unverified))


def note_text(note: str | bytes) -> str:
    """The text of a note (what its signatures sign), without checking any signature.

    Raises :class:`~ledger.note.errors.InvalidNoteError` if ``note`` is not a note.
    """
    return _split_note(note)[0]


def _split_note(note: str | bytes) -> tuple[str, list[str]]:
    """Split a note at its last blank line into text and signature lines."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidNoteError("note is not valid UTF-8") from exc
    _check_chars(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise InvalidNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise InvalidNoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return text, lines


def _check_text(text: str) -> str:
    if not text.endswith("\n"):
        raise InvalidNoteError("note text must be non-empty and end with a newline")
    _check_chars(text)
    return text


def _check_chars(s: str) -> None:
    """Refuse what a note may not contain: non-UTF-8 (lone surrogates) and control characters."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidNoteError("note is not valid UTF-8") from exc
    if any(c < " " and c != "\n" for c in s):
        raise InvalidNoteError("note contains a control character other than newline")
