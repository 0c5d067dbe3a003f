"""Periods may not lie in the future of the record that states them.

An inventory for a year that has not begun, certificates of a vintage not yet
generated, a retirement for a reporting period that has not started: none can be
backed by what happened, yet each would count (a supplier's "latest" year could be
fabricated as 2099 and rated six stars). Judged against the record's own signed
timestamp, so the auditor's replay reaches the same verdict whenever it runs.
"""

from __future__ import annotations

from datetime import timedelta

from ledger.entries import Entry
from ledger.entries.carbon.common import epoch_us, from_epoch_us, utc_text
from ledger.entries.carbon.instruments import InstrumentRetire
from ledger.entries.carbon.targets import Inventory
from ledger.errors import MalformedEntryError

#: The furthest ahead of UTC any civil time zone is (UTC+14, Line Islands): a year
#: that has begun anywhere at the record's time may be reported.
_EARLIEST_ZONE = timedelta(hours=14)


def latest_year(at_us: int) -> int:
    """The latest calendar year that has begun somewhere on Earth at ``at_us``."""
    return (from_epoch_us(at_us) + _EARLIEST_ZONE).year


def check_not_future(entry: Entry, at_us: int) -> None:
    """Raise ``MalformedEntryError`` naming the member whose period lies after ``at_us``."""
    if isinstance(entry, Inventory) and entry.reportingYear > latest_year(at_us):
        raise MalformedEntryError(
            f"{entry.reportingYear} has not begun at the record's time ({utc_text(at_us)}); "
            "an inventory reports a year that has begun",
            field="reportingYear",
        )
    if isinstance(entry, InstrumentRetire):
        if entry.vintage > latest_year(at_us):
            raise MalformedEntryError(
                f"vintage {entry.vintage} has not begun at the record's time ({utc_text(at_us)})",
                field="vintage",
            )
        period = entry.beneficiary.reportingPeriod
        if period is not None and epoch_us(period.start) > at_us:
            raise MalformedEntryError(
                f"the period starts after the record's time ({utc_text(at_us)}); a retirement "
                "counts for a period that has started",
                field="beneficiary.reportingPeriod.start",
            )
