"""``attestation``: a verifier's statement about one footprint."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from ledger.entries.base import Entry, EntryId, Text, entry_type
from ledger.entries.carbon.common import Hex32, Timestamp, fail, instant

Standard = Literal[
    "ISO14067",
    "ISO14064-3",
    "ISO14040-44",
    "PACT-3.0",
    "PACT-2.0",
    "PAS2050",
    "GHG-Protocol-Product",
    "PEF",
    "EU-Battery-Regulation",
]
Boundary = Literal["cradle-to-gate", "cradle-to-grave", "gate-to-gate"]


@entry_type("attestation", signer_roles={"verifier"})
class Attestation(Entry):
    """A verifier attests a footprint, named by its Merkle leaf hash and/or entry id."""

    type: Literal["attestation"]
    footprintLeafHash: Hex32 | None = None
    footprintEntryId: EntryId | None = None
    standard: Standard
    assuranceLevel: Literal["limited", "reasonable"]
    boundary: Boundary
    validFrom: Timestamp
    validUntil: Timestamp
    certificateId: Text | None = None
    comment: Text | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.footprintLeafHash is None and self.footprintEntryId is None:
            raise fail(
                ("footprintEntryId",), "footprintLeafHash or footprintEntryId (or both) is required"
            )
        if instant(self.validUntil) <= instant(self.validFrom):
            raise fail(("validUntil",), "must be after validFrom", self.validUntil)
        return self
