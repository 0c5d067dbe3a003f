"""Typed errors of the ledger's public surface.

Every rejection names what is wrong in words a supplier can act on; the
gRPC service maps each class to one status code (see ``ledger.service``).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class EntryRejectedError(LedgerError):
    """An entry was refused before anything was written.

    ``field`` is the JSON path of the offending member (``""`` when the
    problem is the entry as a whole), so clients can point at it.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class MalformedEntryError(EntryRejectedError):
    """The bytes are not a canonical JSON entry of a known shape."""


class SignatureError(EntryRejectedError):
    """The signature does not verify under the named key."""


# The one refusal for "no such key" and "the key does not verify this signature": which
# of the two it was would tell anyone whether a key id is enrolled.
UNVERIFIED_SIGNATURE = "no enrolled key with this keyId verifies the signature"


class UnknownKeyError(EntryRejectedError):
    """The key id names no key the log has enrolled."""


class RevokedKeyError(EntryRejectedError):
    """The key was valid once but has been rotated away or revoked."""


class PermissionDeniedError(EntryRejectedError):
    """The signing organisation may not do this (role or ownership)."""


class ConflictError(EntryRejectedError):
    """The entry contradicts what the log already holds (same entryId with other bytes,
    a serial already retired, a second active footprint, ...)."""


class QuotaExceededError(EntryRejectedError):
    """The caller already holds its share of a limited resource (witness slots)."""


class UnknownReferenceError(EntryRejectedError):
    """The entry names an org, key or footprint the log does not hold."""


class NotFoundError(LedgerError):
    """A sequence number, entry or proof target does not exist (at the stated tree size)."""


class EntryTooLargeError(EntryRejectedError):
    """The entry exceeds the configured size limit."""


class UnstorableEntryError(EntryRejectedError):
    """The database refused the entry's data (a constraint or a value it cannot hold)
    that validation let through. Not retryable; the other entries of its batch are
    recorded without it."""


class IntegrityError(LedgerError):
    """A stored record (or a proof built from stored Merkle nodes) does not match the
    signed tree: the store was changed behind the ledger's back. Nothing of the record is
    served; see ``ledger.read.verified``."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"integrity check failed for record {seq}: {reason}; it is not served")
        self.seq = seq
        self.reason = reason

    @property
    def subject(self) -> int | str:
        """What failed, as health lists it: a record's seq (``CorruptIndexError``: a column)."""
        return self.seq


class CorruptIndexError(IntegrityError):
    """A derived table (``ledger.store.index_tables``) holds a value of another type than
    its column's: SQLite stores whatever an insider writes. Refused where it is read, so
    what depends on the row is not served; ``audit --db`` and ``fsck`` name the row."""

    def __init__(self, column: str, value: object) -> None:
        reason = f"holds a {type(value).__name__} value, not the type the column has"
        LedgerError.__init__(
            self,
            f"integrity check failed for the index column {column}: {reason}; "
            "nothing that depends on it is served",
        )
        self.seq = -1  # no record is at fault: the index is
        self.column = column
        self.reason = reason

    @property
    def subject(self) -> int | str:
        return self.column
