"""C2SP signed notes, transparency-log checkpoints and witness cosignatures.

Implements c2sp.org/signed-note (Ed25519, type 0x01), c2sp.org/tlog-checkpoint
and the Ed25519 ``cosignature/v1`` of c2sp.org/tlog-cosignature (type 0x04),
with Ed25519 from ``cryptography``.
"""

from ledger.note.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.note.cosignature import (
    COSIGNATURE_ALG,
    CosignatureSigner,
    CosignatureVerifier,
    cosigned_message,
    format_cosignature_vkey,
    verify_cosignature,
)
from ledger.note.errors import (
    InvalidCheckpointError,
    InvalidCosignatureError,
    InvalidKeyError,
    InvalidNoteError,
    InvalidPolicyError,
    InvalidProofError,
    InvalidSignatureError,
    NoteError,
    PolicyNotSatisfiedError,
    UnverifiedNoteError,
)
from ledger.note.signed_note import (
    ED25519_ALG,
    Note,
    NoteSigner,
    NoteVerifier,
    Signature,
    Verifier,
    format_vkey,
    key_hash,
    note_text,
    open_note,
    parse_signature_line,
    sign_note,
)

__all__ = [
    "COSIGNATURE_ALG",
    "ED25519_ALG",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "InvalidCheckpointError",
    "InvalidCosignatureError",
    "InvalidKeyError",
    "InvalidNoteError",
    "InvalidPolicyError",
    "InvalidProofError",
    "InvalidSignatureError",
    "Note",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "PolicyNotSatisfiedError",
    "Signature",
    "UnverifiedNoteError",
    "Verifier",
    "cosigned_message",
    "format_cosignature_vkey",
    "format_vkey",
    "key_hash",
    "note_text",
    "open_checkpoint",
    "open_note",
    "parse_signature_line",
    "sign_checkpoint",
    "sign_note",
    "verify_cosignature",
]
