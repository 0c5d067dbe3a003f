"""A site's zero-carbon evaluation as the gateway serves it: through the one access
policy, from verified records, each checked against the unsigned row that named it.

The site rows (``site``, ``site_input``) are derived, not signed. An insider could point
one at another genuine record (another site's inventory, someone else's retirement)
or claim an owner the site never had. So every record the evaluation reads is proven
by the signed tree (``ledger.read.verified``) and must itself yield the row that named
it under the sequencer's one rule (``ledger.rules.sites.site_inputs_of``); the owner
must be the signer of the ``site.enroll`` the row names, and a verifier's access
through its rating must rest on its recorded ``site.attestation`` of that site. A
mismatch is refused like a tampered record (500, integrity alarm), never served. A
row deleted outright is not seen here: the audit's recomputation finds it
(docs/audit.md).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection

from gateway.zero_carbon_body import SiteEvaluationOut, evaluation_out
from ledger.entries import Entry, parse_entry
from ledger.entries.carbon.sites import SiteAttestation, SiteEnroll
from ledger.errors import IntegrityError
from ledger.read import VerifiedLog
from ledger.read.access import Caller, SiteFacts, now_us, site_access_in, site_facts_in
from ledger.read.grant_records import GrantRecords
from ledger.rules.sites import site_inputs_of
from ledger.rules.view import SiteInput
from ledger.store.carbon_index import SqlCarbonView
from ledger.zero_carbon import (
    RecordedEntry,
    SiteReader,
    evaluate_site,
    site_attestations,
)


class _SiteRows(SqlCarbonView):
    """The sequencer's site rows, remembering what each row claimed of the record it
    names, so the record can be checked against every claim made of it."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.claims: dict[int, set[tuple[str, SiteInput]]] = defaultdict(set)

    def site_inputs(self, site: str, years: tuple[int, ...]) -> list[SiteInput]:
        rows = super().site_inputs(site, years)
        for row in rows:
            self.claims[row.seq].add((site, row))
        return rows


def _refuse(records: VerifiedLog, seq: int, reason: str) -> IntegrityError:
    error = IntegrityError(seq, reason)
    records.monitor.report(error)
    return error


def _verified_entry(conn: Connection, records: VerifiedLog, seq: int, index: str) -> RecordedEntry:
    stored = records.record(seq, conn)
    if stored is None:
        raise _refuse(records, seq, f"the {index} index names a record not in the log")
    return RecordedEntry(parse_entry(json.loads(stored.entry)), seq, stored.leaf_hash)


def verified_site_reader(conn: Connection, records: VerifiedLog, below: int) -> SiteReader:
    """A ``SiteReader`` over ``conn`` as of log size ``below`` whose records are verified
    and checked against the site rows that named them."""
    rows = _SiteRows(conn)

    def record(seq: int) -> RecordedEntry:
        found = _verified_entry(conn, records, seq, "site_input")
        if not rows.claims[seq] <= set(site_inputs_of(found.entry, seq)):
            raise _refuse(records, seq, "the site_input index does not match the record it names")
        return found

    return SiteReader(rows, record, below)


def _agrees(
    conn: Connection, records: VerifiedLog, seq: int, index: str, claim: type[Entry], **says: object
) -> None:
    entry = _verified_entry(conn, records, seq, index).entry
    if not isinstance(entry, claim) or any(getattr(entry, k) != v for k, v in says.items()):
        raise _refuse(records, seq, f"the {index} index does not match the record it names")


#: The facts a missing site is judged by (an owner no org is), only to do the same work.
_NO_SITE = SiteFacts(owner="", enrolled_seq=-1, attested_seq=None)


@dataclass(frozen=True, slots=True)
class VisibleSite:
    """A site-year the caller may see: the site's facts and the largest log size it may
    see the evaluation at (None: any)."""

    facts: SiteFacts
    below: int | None

    def size(self, asked: int) -> int:
        """The log size to evaluate at when ``asked`` is requested."""
        return asked if self.below is None else min(asked, self.below)


def visible_site(
    conn: Connection,
    records: VerifiedLog,
    grants: GrantRecords,
    caller: Caller,
    site: str,
    year: int,
) -> VisibleSite | None:
    """The site's facts if ``caller`` may see its evaluation for ``year`` (``ledger.read.
    access.site_access``), checked against the records they rest on; None when the site
    is not enrolled or hidden from the caller (the two read the same)."""
    facts = site_facts_in(conn, caller, site, year)
    # A missing site asks the policy too, about an owner that does not exist: hidden and
    # missing sites then cost the same look-ups and cannot be told apart by timing.
    sight = site_access_in(conn, caller, facts or _NO_SITE, now_us(), grants)
    if facts is None or not sight.visible:
        return None
    _agrees(conn, records, facts.enrolled_seq, "site", SiteEnroll, site=site, org=facts.owner)
    if facts.attested_seq is not None:
        _agrees(
            conn,
            records,
            facts.attested_seq,
            "site_input",
            SiteAttestation,
            site=site,
            org=caller.org,
            year=year,
        )
    return VisibleSite(facts, sight.below)


def served_evaluation(
    conn: Connection, records: VerifiedLog, seen: VisibleSite, site: str, year: int, below: int
) -> SiteEvaluationOut:
    """The evaluation of ``site`` for ``year`` as of log size ``below`` (or the earlier
    size the caller's sight stops at), as served."""
    size = seen.size(below)
    reader = verified_site_reader(conn, records, size)
    evaluation = evaluate_site(reader, site, year)
    attestations = site_attestations(reader, site, year)
    return evaluation_out(evaluation, seen.facts.owner, size, attestations)
