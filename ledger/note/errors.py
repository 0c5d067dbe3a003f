"""Typed errors of the signed-note package; all derive from :class:`NoteError`."""

from __future__ import annotations


class NoteError(Exception):
    """Base class of every error raised by :mod:`ledger.note`."""


class InvalidKeyError(NoteError):
    """A malformed key name or verifier key (vkey), or a key of the wrong type."""


class InvalidNoteError(NoteError):
    """A note that does not follow the c2sp.org/signed-note format."""


class InvalidSignatureError(NoteError):
    """A signature from a known key (name and key ID match) that does not verify.

    The whole note is rejected: a known key never signs garbage, so this means
    tampering or a key mix-up, not an unrelated signer.
    """


class UnverifiedNoteError(NoteError):
    """No signature in the note is from a known key, so its text must be ignored."""


class InvalidCheckpointError(NoteError):
    """A note text that is not a valid c2sp.org/tlog-checkpoint body."""


class InvalidCosignatureError(NoteError):
    """A c2sp.org/tlog-cosignature that is malformed, from another key, or does not verify."""


class InvalidProofError(NoteError):
    """A text that is not a c2sp.org/tlog-proof bundle."""


class InvalidPolicyError(NoteError):
    """A text that is not a c2sp.org/tlog-policy file, or one this implementation refuses."""


class PolicyNotSatisfiedError(NoteError):
    """A checkpoint not signed by a log of the policy or not cosigned by its quorum.

    ``cosigned`` names the policy's witnesses whose cosignatures verified, ``missing``
    the members of the quorum (witnesses or groups) that are not satisfied; both are
    empty when the log's signature is what is missing.
    """

    def __init__(
        self, message: str, cosigned: tuple[str, ...] = (), missing: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.cosigned = cosigned
        self.missing = missing


class InvalidWitnessRequestError(NoteError):
    """A c2sp.org/tlog-witness request or response body that does not follow the spec."""
