"""``activity.batch`` (metered activity data from an edge collector) and ``key.add``.

An ``activity.batch`` is signed by a collector key: a key the org registered
with a ``key.add`` entry whose ``purpose`` is ``collector``. Which keys may sign
it is the sequencer's check; the model only validates the readings.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from ledger.entries.base import Base64PublicKey, Entry, Text, Urn, entry_type
from ledger.entries.carbon.common import (
    Ident,
    NonNegativeDecimal,
    TimestampText,
    fail,
    parse_instant,
)
from ledger.entries.carbon.sites import (
    SITE_URN_PREFIX,
    is_site_urn,
    names_a_site,
    within_one_year,
)

#: Electricity generated on site from renewable sources (kWh), read from a generation
#: meter: not consumption. Such readings are taken at an enrolled site only.
GENERATION_STAGE = "onsite-renewable-generation"

# Production stages of a battery recycling line, plus site-wide consumers, plus on-site
# renewable generation.
ProcessStage = Literal[
    "pretreatment",
    "discharging",
    "dismantling",
    "crushing",
    "sorting",
    "smelting",
    "leaching",
    "extraction",
    "precipitation",
    "refining",
    "drying",
    "packaging",
    "utilities",
    "wastewater-treatment",
    "onsite-renewable-generation",
]
ActivityUnit = Literal["kWh", "m3", "t", "GJ"]


# A batch holds up to 10,000 readings, so each one is checked by pydantic-core alone
# (shapes, literals, patterns) and stays a plain dict: validating into dicts costs
# half of validating into model instances. The calendar, the interval and the overlap
# rules run in one pass over the batch (``ActivityBatch._intervals``). Validate
# readings only as part of an ``ActivityBatch``.
@with_config(ConfigDict(extra="forbid", strict=True))
class Reading(TypedDict):
    meterId: Ident
    stage: ProcessStage
    intervalStart: TimestampText
    intervalEnd: TimestampText
    quantity: NonNegativeDecimal
    unit: ActivityUnit
    quality: Literal["measured", "estimated", "forecast"]


@entry_type("activity.batch", signer_roles=set())
class ActivityBatch(Entry):
    """Meter readings of one site from one collector."""

    type: Literal["activity.batch"]
    site: Text
    collectorId: Ident
    readings: Annotated[list[Reading], Field(min_length=1, max_length=10000)]

    # The stateful rules read the envelope only (see ``Entry.stateless_members``), and
    # ``generation_years``, computed here from the readings before they are withheld.
    stateless_members: ClassVar[frozenset[str]] = frozenset({"readings"})
    _generation_years: tuple[int, ...] = PrivateAttr(default=())
    _generation_spans: tuple[tuple[str, int, int], ...] = PrivateAttr(default=())

    @property
    def generation_years(self) -> tuple[int, ...]:
        """The calendar years (in each reading's offset) in which the batch meters on-site
        renewable generation: the years whose zero-carbon evaluation of the site reads it."""
        return self._generation_years

    @property
    def generation_spans(self) -> tuple[tuple[str, int, int], ...]:
        """``(meterId, start, end)`` of the batch's generation readings, bounds in UTC
        microseconds since the epoch, a meter's contiguous readings merged into one span,
        sorted: what the rules compare with the generation already recorded at the site,
        so a reading submitted again in another batch is refused."""
        return self._generation_spans

    @model_validator(mode="after")
    def _site(self) -> Self:
        if names_a_site(self.site) and not is_site_urn(self.site):
            raise fail(
                ("site",),
                f"a site in the {SITE_URN_PREFIX} namespace must be a well-formed site URN",
                self.site,
            )
        return self

    @model_validator(mode="after")
    def _intervals(self) -> Self:
        # Every interval is a real, non-empty span of time, and one meter's intervals
        # do not overlap, or its consumption would count twice. Errors name the reading
        # (``readings[12].intervalEnd``) in the order a per-reading check would.
        by_meter: dict[str, list[tuple[datetime, int, datetime]]] = {}
        generation: list[tuple[str, datetime, datetime]] = []
        generation_years: set[int] = set()
        for index, reading in enumerate(self.readings):
            try:
                start = parse_instant(reading["intervalStart"])
                end = parse_instant(reading["intervalEnd"])
            except ValueError:
                raise _no_such_instant(index, reading) from None
            if end <= start:
                raise fail(
                    ("readings", index, "intervalEnd"),
                    "must be after intervalStart",
                    reading["intervalEnd"],
                )
            by_meter.setdefault(reading["meterId"], []).append((start, index, end))
            if reading["stage"] == GENERATION_STAGE:
                generation_years.add(self._generation_year(index, start, end))
                generation.append((reading["meterId"], start, end))
        for intervals in by_meter.values():
            intervals.sort()  # by start, then by position: the index is unique
            for (_, _, end), (start, index, _) in itertools.pairwise(intervals):
                if start < end:
                    later = self.readings[index]
                    raise fail(
                        ("readings", index, "intervalStart"),
                        f"overlaps another reading of meter {later['meterId']}",
                        later["intervalStart"],
                    )
        self._generation_years = tuple(sorted(generation_years))
        self._generation_spans = _merged_spans(generation)
        return self

    def _generation_year(self, index: int, start: datetime, end: datetime) -> int:
        """The year a generation reading counts for; it must be a kWh reading at an
        enrolled site's URN, within one calendar year."""
        reading = self.readings[index]
        if not names_a_site(self.site):
            raise fail(
                ("readings", index, "stage"),
                f"on-site generation is metered at an enrolled site ({SITE_URN_PREFIX}...)",
                reading["stage"],
            )
        if reading["unit"] != "kWh":
            raise fail(("readings", index, "unit"), "generation is read in kWh", reading["unit"])
        if not within_one_year(start, end):
            raise fail(
                ("readings", index, "intervalEnd"),
                "a generation reading lies within one calendar year (in its start's offset)",
                reading["intervalEnd"],
            )
        return start.year


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _merged_spans(
    intervals: list[tuple[str, datetime, datetime]],
) -> tuple[tuple[str, int, int], ...]:
    """Per meter, ``intervals`` (which do not overlap) as UTC-microsecond spans sorted
    by start, each run of contiguous ones (an end equal to the next start) merged."""
    spans: list[tuple[str, int, int]] = []
    for meter, start, end in sorted(intervals):
        start_us = (start - _EPOCH) // timedelta(microseconds=1)
        end_us = (end - _EPOCH) // timedelta(microseconds=1)
        if spans and spans[-1][0] == meter and spans[-1][2] == start_us:
            spans[-1] = (meter, spans[-1][1], end_us)
        else:
            spans.append((meter, start_us, end_us))
    return tuple(spans)


def _no_such_instant(index: int, reading: Reading) -> ValidationError:
    """The error at the first bound of ``reading`` that names no real date-time."""
    for member in ("intervalStart", "intervalEnd"):
        value = reading[member]
        try:
            parse_instant(value)
        except ValueError as exc:
            return fail(("readings", index, member), str(exc), value)
    raise AssertionError("called for a reading whose bounds are both real instants")


@entry_type("key.add", signer_roles=set())
class KeyAdd(Entry):
    """An org registers an extra public key for a purpose (``collector``: signs
    ``activity.batch`` entries only). Signed by the org's own signing key."""

    type: Literal["key.add"]
    orgId: Urn
    publicKey: Base64PublicKey
    purpose: Literal["collector"]

    @model_validator(mode="after")
    def _own_org(self) -> Self:
        if self.orgId != self.org:
            raise fail(("orgId",), "an org adds keys only for itself", self.orgId)
        return self
