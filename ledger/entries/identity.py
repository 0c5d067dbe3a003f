"""Identity entries: enrolment, company ids, registry accounts, key rotation, key
revocation.

The key valid for any entry, the company ids each organisation may declare
footprints for and the registry accounts it retires instruments from are a
function of these entries alone, so an auditor replaying the log derives exactly
the key set and bindings the ledger used.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from ledger.entries.base import (
    Base64PublicKey,
    Entry,
    HexKeyId,
    Role,
    Text,
    Urn,
    entry_type,
)
from ledger.entries.carbon.common import Ident, Slug, check_unique, fail
from ledger.entries.carbon.instruments import SerialRange, split_serial

# The company ids (PACT ``companyIds``) an organisation declares footprints for.
CompanyIds = Annotated[list[Urn], Field(min_length=1, max_length=100)]


@entry_type("org.enroll", signer_roles={"operator"})
class OrgEnroll(Entry):
    """The operator admits an organisation with its roles, first signing key and the
    company ids it may declare footprints for (its own URN when ``companyIds`` is absent)."""

    type: Literal["org.enroll"]
    orgId: Urn
    name: Text
    roles: Annotated[list[Role], Field(min_length=1, max_length=6)]
    publicKey: Base64PublicKey
    companyIds: CompanyIds | None = None

    @model_validator(mode="after")
    def _unique(self) -> Self:
        check_unique("companyIds", self.companyIds)
        return self

    @property
    def company_ids(self) -> tuple[str, ...]:
        return tuple(self.companyIds) if self.companyIds is not None else (self.orgId,)


@entry_type("org.companies", signer_roles={"operator"})
class OrgCompanies(Entry):
    """The operator sets the company ids an enrolled organisation may declare footprints
    for, replacing the ones it had. Only the operator binds companies: an org naming its
    own would let it squat another company's products."""

    type: Literal["org.companies"]
    orgId: Urn
    companyIds: CompanyIds

    @model_validator(mode="after")
    def _unique(self) -> Self:
        check_unique("companyIds", self.companyIds)
        return self


@entry_type("registry.account", signer_roles={"operator"})
class RegistryAccount(Entry):
    """The operator binds an account at a certificate or credit registry to the
    enrolled organisation that holds it there; serials are retired only from an
    account the retiring org holds. A later binding of the same account replaces the
    earlier one, so an account belongs to one organisation at most, and only the
    operator (who checks the registry's records) moves it: an org binding accounts
    itself could claim another holder's serials.

    ``serialRanges`` are the serial blocks the registry issued to the account (as its
    own records show); the account's serials are retired only from it, so another
    account's holder cannot retire them first. A binding states all of them: a later
    binding replaces the ranges too. Ranges of one registry never overlap, within an
    entry or across accounts (``IdentityState``), as a registry issues a serial once."""

    type: Literal["registry.account"]
    registry: Slug
    accountId: Ident
    orgId: Urn
    serialRanges: Annotated[list[SerialRange], Field(max_length=1000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        """Sorted by (prefix, width, first number), a range overlapping any other
        overlaps its predecessor in that order, so one pass finds it."""
        keyed = sorted(
            (split_serial(r.first), split_serial(r.last)[1], index)
            for index, r in enumerate(self.serialRanges)
        )
        for before, after in pairwise(keyed):
            (prefix, _, width), last, _ = before
            (next_prefix, next_first, next_width), _, index = after
            if (prefix, width) == (next_prefix, next_width) and next_first <= last:
                raise fail(
                    ("serialRanges", index),
                    "overlaps another range of this binding; a registry issues a serial once",
                )
        return self


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
IDENTITY_TYPES: frozenset[str] = frozenset(
    {"org.enroll", "org.companies", "registry.account", "key.rotate", "key.revoke", "key.add"}
)
