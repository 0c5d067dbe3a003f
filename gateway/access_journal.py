"""What each append may change of the answers to "may this org see this footprint?".

``gateway.footprints`` caches each (org, footprint) answer with the log size it was
computed at. Keyed on the exact size, every append would make every cached answer be
computed anew (measured: the PACT read fell from about 2,500 to 250-460 requests/s
under 20 appends/s). An answer rests on the footprint's index row (owner, active,
deprecation) and on the grants its owner gave the org; so an append reaches it only
if it is

* a ``footprint`` with that id or naming it in ``precedingPfIds``, or a
  ``footprint.deprecate`` of it;
* a ``grant`` to that org;
* a ``grant.revoke`` (its entry names the grant, not the grantee), an identity entry
  (roles, companies, keys), or any type not listed below as reaching no answer: these
  reach every answer, so an entry type added later is safe by default.

Types that reach no footprint access answer: attestations, retirements, activity,
inventories, factor sets, registry accounts, sites and targets.

The journal reads the appended records as stored, with the same trust as the index
tables the answers themselves are computed from, by the type the signed entry bytes
name (a row whose ``entry_type`` column disagrees reaches every answer); a span longer
than ``MAX_SPAN_READ`` is not read and reaches every answer.
"""

from __future__ import annotations

import json
import threading

from pydantic import ValidationError
from sqlalchemy import Connection

from gateway.computed_journal import Advance, ChangeJournal
from ledger.entries import parse_entry
from ledger.entries.carbon.footprint import Footprint, FootprintDeprecate
from ledger.entries.carbon.grants import Grant
from ledger.errors import MalformedEntryError
from ledger.store.log import StoredRecord, records_in

#: Entry types whose records change no footprint's owner, status or grants.
REACHES_NO_ACCESS = frozenset(
    {
        "activity.batch",
        "attestation",
        "factors.publish",
        "instrument.retire",
        "inventory",
        "registry.account",
        "site.attestation",
        "site.enroll",
        "target",
    }
)
#: Entry types read to learn which footprints or viewers they reach.
_READ = frozenset({"footprint", "footprint.deprecate", "grant"})
#: Appends read at once; after a longer gap every answer is computed anew.
MAX_SPAN_READ = 10_000


def _advance(start: int, records: list[StoredRecord]) -> Advance:
    """What the ``records`` (the log's ``[start, start + len)``) reach."""
    stop = start + len(records)
    footprints: set[str] = set()
    viewers: set[str] = set()
    for record in records:
        try:
            obj = json.loads(record.entry)
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind != record.entry_type:  # a tampered row: verified reads will say so
                return Advance(start, stop, None, None)
            if kind in REACHES_NO_ACCESS:
                continue
            if kind not in _READ:
                return Advance(start, stop, None, None)
            entry = parse_entry(obj)
        except (MalformedEntryError, ValidationError, ValueError):
            return Advance(start, stop, None, None)
        if isinstance(entry, Footprint):
            footprints.add(entry.footprint.id)
            footprints.update(entry.footprint.precedingPfIds or ())
        elif isinstance(entry, FootprintDeprecate):
            footprints.add(entry.footprintId)
        elif isinstance(entry, Grant):
            viewers.add(entry.grantee)
        else:
            return Advance(start, stop, None, None)
    return Advance(start, stop, frozenset(footprints), frozenset(viewers))


class AccessJournal:
    """The appends since this process first asked, as ``Advance``s (thread-safe)."""

    def __init__(self) -> None:
        self._journal = ChangeJournal()
        self._lock = threading.Lock()
        self._stop: int | None = None  # the log size the journal reaches

    def untouched(
        self, conn: Connection, since: int, until: int, footprint_id: str, viewer: str
    ) -> bool:
        """Whether no append between log sizes ``since`` and ``until`` reaches the answer
        to ``viewer`` about ``footprint_id``. ``conn`` must see the log's first ``until``
        records (its transaction began after ``until`` was queried)."""
        self.follow(conn, until)
        return self._journal.untouched(since, until, frozenset((footprint_id,)), viewer)

    def follow(self, conn: Connection, size: int) -> None:
        """Take in the appends up to log size ``size`` (``conn`` sees them)."""
        with self._lock:
            start = self._stop
            if start is not None and start >= size:
                return
            if start is None:
                advance = Advance(0, size, None, None)  # nothing before is vouched for
            elif size - start > MAX_SPAN_READ:
                advance = Advance(start, size, None, None)
            else:
                records = records_in(conn, start, size)
                if [r.seq for r in records] != list(range(start, size)):
                    return  # ``conn`` does not see them all: vouch for nothing new
                advance = _advance(start, records)
            self._journal.record(advance)
            self._stop = size
