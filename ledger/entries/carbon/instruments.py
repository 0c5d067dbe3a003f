"""``instrument.retire``: retiring green electricity certificates or carbon credits.

Serial numbers: a serial is an optional *prefix* followed by a *numeric part*
of 1 to 30 digits; the numeric part is the longest run of digits at the end,
so the prefix, if any, ends with a letter, ``.``, ``/`` or ``-``
(``GEC-2024-000101``: prefix ``GEC-2024-``, number ``000101``). A range
``{first, last}`` covers every serial with the same prefix and the same number
of digits whose number lies between the two, both included; ``first`` and
``last`` must share prefix and width and ``first <= last``. Every kind here is
issued in units of 1 MWh (certificates) or 1 tCO2e (credits), so ``quantity``
must equal the number of serials in the range.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import Field, StringConstraints, model_validator

from ledger.entries.base import Entry, Urn, entry_type
from ledger.entries.carbon.common import (
    Ident,
    PositiveDecimal,
    Slug,
    Strict,
    Timestamp,
    Uuid,
    Year,
    check_unique,
    dec,
    fail,
    instant,
)
from ledger.entries.carbon.sites import SiteUrn, within_one_year

Serial = Annotated[
    str,
    StringConstraints(pattern=r"^([A-Za-z0-9./-]{0,63}[A-Za-z./-])?[0-9]{1,30}$"),
]
CERTIFICATE_KINDS: frozenset[str] = frozenset({"GEC", "I-REC", "GO", "REC"})
CREDIT_KINDS: frozenset[str] = frozenset({"CCER", "VCS", "GoldStandard", "forestry"})
Kind = Literal["GEC", "I-REC", "GO", "REC", "CCER", "VCS", "GoldStandard", "forestry"]

_SERIAL = re.compile(r"^(.*?)([0-9]+)$")


@lru_cache(maxsize=1024)
def split_serial(serial: str) -> tuple[str, int, int]:
    """``(prefix, number, width)`` of a serial in the accepted format.

    Cached: validating, checking and applying one retirement asks for the same two
    serials about eight times, and the replay of a log does that for every one."""
    match = _SERIAL.match(serial)
    if match is None:
        raise ValueError(f"{serial!r} does not end with a numeric part")
    # The lazy prefix leaves the longest run of trailing digits to the numeric part.
    prefix, digits = match.group(1), match.group(2)
    return prefix, int(digits), len(digits)


class SerialRange(Strict):
    first: Serial
    last: Serial

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        p1, n1, w1 = split_serial(self.first)
        p2, n2, w2 = split_serial(self.last)
        if (p1, w1) != (p2, w2):
            raise fail(("last",), "must have the same prefix and digit count as first", self.last)
        if n2 < n1:
            raise fail(("last",), "must not be before first", self.last)
        return self

    def count(self) -> int:
        """The number of serials in the range."""
        return split_serial(self.last)[1] - split_serial(self.first)[1] + 1


class Period(Strict):
    start: Timestamp
    end: Timestamp

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if instant(self.end) <= instant(self.start):
            raise fail(("end",), "must be after start", self.end)
        return self


class Beneficiary(Strict):
    org: Urn
    footprintIds: Annotated[list[Uuid], Field(min_length=1, max_length=1000)] | None = None
    reportingPeriod: Period | None = None
    # A site of the retiring org the retirement counts for, in the reporting year its
    # reportingPeriod lies in (the zero-carbon factory evaluation).
    site: SiteUrn | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        check_unique("footprintIds", self.footprintIds)
        if self.site is not None:
            period = self.reportingPeriod
            if period is None:
                raise fail(("reportingPeriod",), "required when a site is named")
            if not within_one_year(instant(period.start), instant(period.end)):
                raise fail(
                    ("reportingPeriod", "end"),
                    "a retirement for a site covers one reporting year: the period must end "
                    "by the start of the next calendar year (in the start's offset)",
                    period.end,
                )
        return self


class Generator(Strict):
    """Where the certified electricity was generated, when that is an enrolled site: its
    metered on-site generation of those MWh was sold or claimed as certificates, so the
    site may not count them again."""

    site: SiteUrn


class RetiredRange(NamedTuple):
    """What the "retired twice" rule compares: a registry and a serial range."""

    registry: str
    first: str
    last: str


def serial_ranges_overlap(a: RetiredRange, b: RetiredRange) -> bool:
    """Whether two retirements share at least one serial of the same registry.

    Serials are compared as described in the module docstring: same registry,
    same prefix, same digit count, and intersecting numeric intervals.
    """
    if a.registry != b.registry:
        return False
    a_prefix, a_lo, a_width = split_serial(a.first)
    b_prefix, b_lo, b_width = split_serial(b.first)
    if (a_prefix, a_width) != (b_prefix, b_width):
        return False
    a_hi = split_serial(a.last)[1]
    b_hi = split_serial(b.last)[1]
    return a_lo <= b_hi and b_lo <= a_hi


@entry_type("instrument.retire", signer_roles={"supplier", "buyer"})
class InstrumentRetire(Entry):
    """An org records that it retired a range of certificates or credits from its
    account ``accountId`` at ``registry`` (bound to it by the operator's
    ``registry.account``)."""

    type: Literal["instrument.retire"]
    registry: Slug
    accountId: Ident
    kind: Kind
    serials: SerialRange
    quantity: PositiveDecimal
    unit: Literal["MWh", "tCO2e"]
    vintage: Year
    beneficiary: Beneficiary
    creditType: Literal["avoidance", "removal"] | None = None
    generator: Generator | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        is_credit = self.kind in CREDIT_KINDS
        expected = "tCO2e" if is_credit else "MWh"
        if self.unit != expected:
            raise fail(("unit",), f"a {self.kind} retirement is counted in {expected}", self.unit)
        if dec(self.quantity) != self.serials.count():
            raise fail(
                ("quantity",),
                f"must equal the number of serials in the range ({self.serials.count()})",
                self.quantity,
            )
        if is_credit and self.creditType is None:
            raise fail(("creditType",), "required for carbon credits")
        if not is_credit and self.creditType is not None:
            raise fail(("creditType",), "not allowed for energy certificates", self.creditType)
        if is_credit and self.generator is not None:
            raise fail(("generator",), "only energy certificates name a generator")
        if (
            self.beneficiary.footprintIds or self.beneficiary.site
        ) and self.beneficiary.org != self.org:
            # The footprints and site named are the retiring org's own (a stateful rule),
            # so the claim they carry is that org's too.
            raise fail(
                ("beneficiary", "org"),
                "must be the retiring org when footprintIds or a site are named",
                self.beneficiary.org,
            )
        return self

    def site_year(self) -> int | None:
        """The reporting year the retirement counts for at ``beneficiary.site`` (the
        calendar year its reporting period lies in), or None when it names no site."""
        period = self.beneficiary.reportingPeriod
        if self.beneficiary.site is None or period is None:
            return None
        return instant(period.start).year

    def retired_range(self) -> RetiredRange:
        return RetiredRange(self.registry, self.serials.first, self.serials.last)
