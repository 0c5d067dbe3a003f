"""The v3 ListFootprints filters, and the instants they compare.

Every instant is an aware ``datetime``. Comparing aware datetimes never leaves the
calendar, but arithmetic can: a footprint whose ``referencePeriodEnd`` lies in
year 9999 has a default validity end in year 10002, past ``datetime.max``. Such an
end is later than every instant a query can name (queries, like entries, name
instants within years 1-9999 in UTC), so it is represented as ``None``, "after the
calendar", instead of being constructed: no recorded footprint and no query value
can make a listing, or the re-examination of open asynchronous requests, fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.entries.carbon.common import RFC3339
from ledger.entries.carbon.common import parse_instant as parse_rfc3339
from ledger.entries.carbon.pact import DEFAULT_VALIDITY_YEARS, plus_years


@dataclass
class Filters:
    """The v3 ListFootprints filters; values of one parameter OR, parameters AND."""

    product_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)
    geography: list[str] = field(default_factory=list)
    classification: list[str] = field(default_factory=list)
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    status: str | None = None

    def python_side(self) -> bool:
        return bool(
            self.geography
            or self.classification
            or self.valid_on
            or self.valid_after
            or self.valid_before
        )


def parse_instant(value: str) -> datetime:
    """An RFC 3339 date-time, with ``Z`` or an offset (more than six fractional digits
    are cut, as the ledger does when it validates); ValueError if it has another form
    (``fromisoformat`` alone would take dates, week dates, basic formats, no offset) or
    lies outside the calendar."""
    if not RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return parse_rfc3339(value.upper())


def validity(footprint: dict[str, Any]) -> tuple[datetime, datetime | None]:
    """PACT v3 validity period: defaults to [referencePeriodEnd, +3 years]; an end
    of None is after the calendar (see the module docstring)."""
    ref_end = parse_instant(footprint["pcf"]["referencePeriodEnd"])
    start = footprint.get("validityPeriodStart")
    end = footprint.get("validityPeriodEnd")
    return (
        parse_instant(start) if start else ref_end,
        parse_instant(end) if end else plus_years(ref_end, DEFAULT_VALIDITY_YEARS),
    )


def matches(footprint: dict[str, Any], filters: Filters) -> bool:
    pcf = footprint["pcf"]
    if filters.geography:
        wanted = {g.lower() for g in filters.geography}
        own = {
            str(pcf[k]).lower()
            for k in (
                "geographyRegionOrSubregion",
                "geographyCountry",
                "geographyCountrySubdivision",
            )
            if pcf.get(k)
        }
        sub = pcf.get("geographyCountrySubdivision")
        if sub:
            own.add(str(sub).split("-", 1)[0].lower())
        if not wanted & own:
            return False
    if filters.classification:
        wanted = {c.lower() for c in filters.classification}
        if not wanted & {c.lower() for c in footprint.get("productClassifications") or ()}:
            return False
    if filters.valid_on or filters.valid_after or filters.valid_before:
        start, end = validity(footprint)
        if filters.valid_on and not (
            start <= filters.valid_on and (end is None or filters.valid_on <= end)
        ):
            return False
        if filters.valid_after and not start > filters.valid_after:
            return False
        if filters.valid_before and not (end is not None and end < filters.valid_before):
            return False
    return True
