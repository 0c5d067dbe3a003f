"""``grant`` and ``grant.revoke``: a supplier lets another org read its footprint data."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from ledger.entries.base import Entry, EntryId, Text, Urn, entry_type
from ledger.entries.carbon.common import Timestamp, Uuid, fail, instant


@entry_type("grant", signer_roles={"supplier"})
class Grant(Entry):
    """Access for ``grantee`` to one footprint or to a product line (every footprint of
    ``productId`` declared by the signing supplier), at ``summary`` or ``detail`` level."""

    type: Literal["grant"]
    grantee: Urn
    footprintId: Uuid | None = None
    productId: Urn | None = None
    level: Literal["summary", "detail"]
    validFrom: Timestamp | None = None
    validUntil: Timestamp | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.footprintId is None and self.productId is None:
            raise fail(("footprintId",), "exactly one of footprintId or productId is required")
        if self.footprintId is not None and self.productId is not None:
            raise fail(("productId",), "not allowed together with footprintId", self.productId)
        if self.grantee == self.org:
            raise fail(("grantee",), "an org cannot grant access to itself", self.grantee)
        if (
            self.validFrom is not None
            and self.validUntil is not None
            and instant(self.validUntil) <= instant(self.validFrom)
        ):
            raise fail(("validUntil",), "must be after validFrom", self.validUntil)
        return self


@entry_type("grant.revoke", signer_roles={"supplier"})
class GrantRevoke(Entry):
    """Withdraw a grant, named by the grant entry's ``entryId``."""

    type: Literal["grant.revoke"]
    grantId: EntryId
    reason: Text | None = None
