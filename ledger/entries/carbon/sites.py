"""``site.enroll`` (a factory an org owns) and ``site.attestation`` (a verifier's
zero-carbon factory rating of a site for a year).

A site is named by a URN in the ledger's own namespace, ``urn:carbonledger:site:...``,
so a site reference can never be mistaken for an org or a product, and an
``activity.batch`` whose free-text ``site`` label predates sites keeps meaning what it
meant. A site URN is enrolled once in the whole log; the enrolling org owns it, and
only it records inventories, meter readings and retirements for it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from ledger.entries.base import Entry, EntryId, Text, entry_type
from ledger.entries.carbon.common import Hex32, Strict, Year, fail

SITE_URN_PREFIX = "urn:carbonledger:site:"
_SITE_URN_PATTERN = r"^urn:carbonledger:site:[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
SiteUrn = Annotated[str, StringConstraints(pattern=_SITE_URN_PATTERN)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

#: The star levels of a zero-carbon factory rating, and ``none`` below three stars.
Level = Literal["none", "three-star", "four-star", "five-star", "six-star"]
#: Type I covers scopes 1 and 2; type II adds the declared scope 3 categories.
FactoryType = Literal["I", "II"]


def names_a_site(label: str) -> bool:
    """Whether ``label`` (an ``activity.batch`` site) claims the site namespace, so it must
    be a well-formed, enrolled site URN of the batch's org. The scheme and namespace are
    compared without case, as RFC 8141 compares them."""
    return label[: len(SITE_URN_PREFIX)].lower() == SITE_URN_PREFIX


def is_site_urn(label: str) -> bool:
    """Whether ``label`` is a well-formed site URN (what ``SiteUrn`` accepts)."""
    return re.fullmatch(_SITE_URN_PATTERN, label) is not None


def within_one_year(start: datetime, end: datetime) -> bool:
    """Whether ``[start, end)`` lies within the calendar year of ``start``, in its own
    stated offset: a factory's reporting year is local (a period starting
    2024-12-31T20:00:00-05:00 belongs to 2024)."""
    return end <= start.replace(
        year=start.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0
    )


class Location(Strict):
    country: Country  # ISO 3166-1 alpha-2
    region: Text | None = None
    address: Text | None = None


@entry_type("site.enroll", signer_roles={"supplier"})
class SiteEnroll(Entry):
    """An org enrols a factory it owns. Suppliers are the orgs whose factories are rated
    (an org with factories and another role holds ``supplier`` too)."""

    type: Literal["site.enroll"]
    site: SiteUrn
    name: Text
    location: Location


@entry_type("site.attestation", signer_roles={"verifier"})
class SiteAttestation(Entry):
    """A verifier rates a site for a reporting year over the exact entries it evaluated.

    ``inputs`` are the entry ids of the inventories, retirements and activity batches
    the evaluation used, in ascending order (the canonical order: one evaluation has
    one list); ``resultDigest`` is ``ledger.zero_carbon.result_digest`` of the
    evaluation. The sequencer records it only when both are those of the site-year's
    evaluation from the log at that moment (``ledger.rules.sites``); whether it is
    still current later is decided by ``ledger.zero_carbon.attestation_status``
    against a fresh evaluation."""

    type: Literal["site.attestation"]
    site: SiteUrn
    year: Year
    level: Level
    factoryType: FactoryType
    inputs: Annotated[list[EntryId], Field(min_length=1, max_length=10000)]
    resultDigest: Hex32
    comment: Text | None = None

    @model_validator(mode="after")
    def _canonical_inputs(self) -> Self:
        for index in range(1, len(self.inputs)):
            if self.inputs[index] <= self.inputs[index - 1]:
                raise fail(
                    ("inputs", index),
                    "inputs are unique and in ascending order (the canonical order)",
                    self.inputs[index],
                )
        return self
