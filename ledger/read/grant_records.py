"""The grants that open something to a caller, checked against their signed records.

``access_grant`` rows are derived and unsigned: an insider who raises a row's level,
changes its grantee, target or window, or sets its inventory flag would otherwise open
more than the grantor signed. Every reader that lets a grant open a footprint, an entry,
an inventory or a site evaluation confirms the grants that did (``Access.by``) here
first: the verified record at the row's seq must be a grant whose facts, as the rules
derive them (``ledger.rules.carbon.grant_facts``), are the row's. A revocation is
another record's doing, so a row's ``revoked_seq`` is not compared (a revocation taken
off a row is for the audits' check 9).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable

from sqlalchemy import Connection

from ledger.entries import parse_entry
from ledger.entries.carbon.grants import Grant
from ledger.errors import IntegrityError
from ledger.read.access import Access
from ledger.read.verified import VerifiedLog
from ledger.rules.carbon import grant_facts
from ledger.rules.view import GrantFacts

_REMEMBERED = 20_000


class GrantRecords:
    """Confirms grant rows against their records; a row confirmed once is remembered (a
    record never changes, and a changed row is another key)."""

    def __init__(self, verified: VerifiedLog) -> None:
        self._verified = verified
        self._confirmed: set[GrantFacts] = set()
        self._lock = threading.Lock()

    def confirm(self, conn: Connection | None, access: Access) -> Access:
        """``access``, once the grants that give it state their records; otherwise
        ``IntegrityError`` (reported), and nothing is opened."""
        self.confirm_all(conn, access.by)
        return access

    def confirm_all(self, conn: Connection | None, grants: Iterable[GrantFacts]) -> None:
        for grant in grants:
            with self._lock:
                if grant in self._confirmed:
                    continue
            record = self._verified.record(grant.seq, conn)
            if record is None or not _states(record.entry_type, record.entry, grant):
                failure = IntegrityError(
                    grant.seq, "the grant index does not match the record it names"
                )
                self._verified.monitor.report(failure)
                raise failure
            with self._lock:
                if len(self._confirmed) >= _REMEMBERED:
                    self._confirmed.clear()
                self._confirmed.add(grant)


def _states(entry_type: str, entry: bytes, grant: GrantFacts) -> bool:
    if entry_type != "grant":
        return False
    parsed = parse_entry(json.loads(entry))
    stated = dataclasses.replace(grant, revoked_seq=None)
    return isinstance(parsed, Grant) and grant_facts(parsed, grant.seq) == stated
