"""``activity.batch`` (metered activity data from an edge collector) and ``key.add``.

An ``activity.batch`` is signed by a collector key: a key the org registered
with a ``key.add`` entry whose ``purpose`` is ``collector``. Which keys may sign
it is the sequencer's check; the model only validates the readings.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from ledger.entries.base import Base64PublicKey, Entry, Text, Urn, entry_type
from ledger.entries.carbon.common import (
    Ident,
    NonNegativeDecimal,
    Strict,
    Timestamp,
    fail,
    instant,
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


class Reading(Strict):
    meterId: Ident
    stage: ProcessStage
    intervalStart: Timestamp
    intervalEnd: Timestamp
    quantity: NonNegativeDecimal
    unit: ActivityUnit
    quality: Literal["measured", "estimated", "forecast"]

    @model_validator(mode="after")
    def _interval(self) -> Self:
        if instant(self.intervalEnd) <= instant(self.intervalStart):
            raise fail(("intervalEnd",), "must be after intervalStart", self.intervalEnd)
        return self


@entry_type("activity.batch", signer_roles=set())
class ActivityBatch(Entry):
    """Meter readings of one site from one collector."""

    type: Literal["activity.batch"]
    site: Text
    collectorId: Ident
    readings: Annotated[list[Reading], Field(min_length=1, max_length=10000)]

    @model_validator(mode="after")
    def _no_double_count(self) -> Self:
        # One meter's intervals must not overlap, or its consumption would count twice.
        by_meter: dict[str, list[tuple[int, Reading]]] = {}
        for index, reading in enumerate(self.readings):
            by_meter.setdefault(reading.meterId, []).append((index, reading))
        for entries in by_meter.values():
            entries.sort(key=lambda item: instant(item[1].intervalStart))
            for (_, before), (index, after) in itertools.pairwise(entries):
                if instant(after.intervalStart) < instant(before.intervalEnd):
                    raise fail(
                        ("readings", index, "intervalStart"),
                        f"overlaps another reading of meter {after.meterId}",
                        after.intervalStart,
                    )
        return self


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
