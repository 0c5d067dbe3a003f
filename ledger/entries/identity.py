"""Identity entries: enrolment, key rotation, key revocation.

The key valid for any entry is a function of these entries alone, so an
auditor replaying the log derives exactly the key set the ledger used.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ledger.entries.base import (
    Base64PublicKey,
    Entry,
    HexKeyId,
    Role,
    Text,
    Urn,
    entry_type,
)


@entry_type("org.enroll", signer_roles={"operator"})
class OrgEnroll(Entry):
    """The operator admits an organisation with its roles and first signing key."""

    type: Literal["org.enroll"]
    orgId: Urn
    name: Text
    roles: Annotated[list[Role], Field(min_length=1, max_length=6)]
    publicKey: Base64PublicKey


@entry_type("key.rotate", signer_roles=set())
class KeyRotate(Entry):
    """Replace an org's signing key. Signed by its current key, or by the operator
    (recovery after a revocation)."""

    type: Literal["key.rotate"]
    orgId: Urn
    newPublicKey: Base64PublicKey


@entry_type("key.revoke", signer_roles=set())
class KeyRevoke(Entry):
    """Revoke a key from now on. Signed by the key's org or by the operator."""

    type: Literal["key.revoke"]
    orgId: Urn
    keyId: HexKeyId
    reason: Text | None = None


# Entry types that change the identity state (replayed at start-up and catch-up).
IDENTITY_TYPES: frozenset[str] = frozenset({"org.enroll", "key.rotate", "key.revoke", "key.add"})
