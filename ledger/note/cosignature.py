"""c2sp.org/tlog-cosignature, Ed25519 ``cosignature/v1`` (signature type 0x04).

A witness states that, as of a time, the checkpoint is the largest consistent
tree head it has seen for that log. It signs with Ed25519::

    cosignature/v1\\n
    time <POSIX seconds, decimal, no leading zeros>\\n
    <checkpoint body, including its final newline>

and publishes a note signature line whose bytes are
key ID (4) || timestamp (uint64 big-endian, 8) || Ed25519 signature (64).
The key ID uses type byte 0x04, so a cosigning key never verifies as a plain
note key. ML-DSA-44 cosignatures (type 0x06) are not implemented.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.note.checkpoint import Checkpoint
from ledger.note.errors import InvalidCosignatureError, NoteError
from ledger.note.signed_note import (
    NamedKey,
    NamedSigner,
    Signature,
    format_key,
    parse_signature_line,
    raw_public_key,
)

COSIGNATURE_ALG = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures."""

MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
_ED25519_SIG_SIZE = 64


def cosigned_message(checkpoint_text: bytes, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signs for ``checkpoint_text`` at ``timestamp``."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text


def format_cosignature_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The vkey of a cosigner: type byte 0x04 and the 32-byte Ed25519 key."""
    return format_key(name, COSIGNATURE_ALG, raw_public_key(public_key))


class CosignatureVerifier(NamedKey):
    """Checks one cosigner's ``cosignature/v1`` signatures.

    It also satisfies :class:`~ledger.note.signed_note.Verifier`, so
    :func:`~ledger.note.signed_note.open_note` can check cosignatures on a
    checkpoint note alongside the log's own signature.
    """

    ALG = COSIGNATURE_ALG

    def verify(self, text: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (timestamp || Ed25519 signature) cosigns the note text ``text``."""
        try:
            self.verified_timestamp(text, sig)
        except InvalidCosignatureError:
            return False
        return True

    def verified_timestamp(self, checkpoint_text: bytes, sig: bytes) -> int:
        """Check ``sig`` (timestamp || Ed25519 signature) over a body; return the timestamp.

        Raises :class:`~ledger.note.errors.InvalidCosignatureError` if it does not verify.
        """
        if len(sig) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE:
            raise InvalidCosignatureError(f"cosignature has {len(sig)} bytes, want 72")
        timestamp = int.from_bytes(sig[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise InvalidCosignatureError(f"cosignature timestamp {timestamp} exceeds 2^63-1")
        message = cosigned_message(checkpoint_text, timestamp)
        try:
            self._public_key.verify(sig[_TIMESTAMP_SIZE:], message)
        except InvalidSignature as exc:
            raise InvalidCosignatureError(f"cosignature by {self._name} does not verify") from exc
        return timestamp


class CosignatureSigner(NamedSigner[CosignatureVerifier]):
    """A witness key producing ``cosignature/v1`` signature lines."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        super().__init__(CosignatureVerifier(name, private_key.public_key()), private_key)

    def cosign(self, checkpoint_text: str, timestamp: int) -> str:
        """Signature line (with final newline) cosigning ``checkpoint_text`` at ``timestamp``.

        ``checkpoint_text`` must be a valid checkpoint body and ``timestamp`` a
        POSIX time in [0, 2^63-1]. Append the line to the signed checkpoint note.
        """
        Checkpoint.parse(checkpoint_text)
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise InvalidCosignatureError(f"timestamp {timestamp} is outside [0, 2^63-1]")
        sig = self._private_key.sign(cosigned_message(checkpoint_text.encode(), timestamp))
        stamped = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + sig
        return Signature(self.name, self.key_hash, stamped).to_line()


def verify_cosignature(
    checkpoint_text: str, signature_line: str, verifier: CosignatureVerifier
) -> int:
    """Check one cosignature line over a checkpoint body; return its timestamp.

    ``signature_line`` may end with its newline. Raises
    :class:`~ledger.note.errors.InvalidCosignatureError` if the line is
    malformed, is by another key (name or key ID differ) or does not verify.
    """
    try:
        sig = parse_signature_line(signature_line.removesuffix("\n"))
    except NoteError as exc:
        raise InvalidCosignatureError(str(exc)) from exc
    if (sig.name, sig.key_hash) != (verifier.name, verifier.key_hash):
        raise InvalidCosignatureError(f"signature line is not by cosigner {verifier.name}")
    return verifier.verified_timestamp(checkpoint_text.encode(), sig.signature)
