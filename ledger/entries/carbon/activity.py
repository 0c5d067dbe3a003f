"""``activity.batch`` (metered activity data from an edge collector) and ``key.add``.

An ``activity.batch`` is signed by a collector key: a key the org registered
with a ``key.add`` entry whose ``purpose`` is ``collector``. Which keys may sign
it is the sequencer's check; the model only validates the readings.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator, with_config
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from ledger.entries.base import Base64PublicKey, Entry, Text, Urn, entry_type
from ledger.entries.carbon.common import (
    Ident,
    NonNegativeDecimal,
    TimestampText,
    fail,
    parse_instant,
)

# Production stages of a battery recycling line, plus site-wide consumers.
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

    # The stateful rules read the envelope only (see ``Entry.stateless_members``).
    stateless_members: ClassVar[frozenset[str]] = frozenset({"readings"})

    @model_validator(mode="after")
    def _intervals(self) -> Self:
        # Every interval is a real, non-empty span of time, and one meter's intervals
        # do not overlap, or its consumption would count twice. Errors name the reading
        # (``readings[12].intervalEnd``) in the order a per-reading check would.
        by_meter: dict[str, list[tuple[datetime, int, datetime]]] = {}
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
        return self


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
