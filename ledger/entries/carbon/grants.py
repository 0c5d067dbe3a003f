"""``grant`` and ``grant.revoke``: a supplier lets another org read its footprint data
or its corporate inventories."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from ledger.entries.base import Entry, EntryId, Text, Urn, entry_type
from ledger.entries.carbon.common import Timestamp, Uuid, fail, instant


@entry_type("grant", signer_roles={"supplier"})
class Grant(Entry):
    """Access for ``grantee`` to exactly one of: one footprint (``footprintId``), a
    product line (``productId``: every footprint of it declared by the signing
    supplier), both at ``summary`` or ``detail`` level; or the supplier's yearly
    inventories and its progress against targets (``inventory: true``, no level:
    a buyer's ``target`` alone opens nothing)."""

    type: Literal["grant"]
    grantee: Urn
    footprintId: Uuid | None = None
    productId: Urn | None = None
    inventory: Literal[True] | None = None
    level: Literal["summary", "detail"] | None = None
    validFrom: Timestamp | None = None
    validUntil: Timestamp | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        named = [
            name
            for name in ("footprintId", "productId", "inventory")
            if getattr(self, name) is not None
        ]
        if not named:
            raise fail(
                ("footprintId",), "exactly one of footprintId, productId or inventory is required"
            )
        if len(named) > 1:
            extra = named[1]
            raise fail((extra,), f"not allowed together with {named[0]}", getattr(self, extra))
        if self.inventory is None and self.level is None:
            raise fail(("level",), "required for a footprint or product grant")
        if self.inventory is not None and self.level is not None:
            raise fail(("level",), "not allowed for an inventory grant", self.level)
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
