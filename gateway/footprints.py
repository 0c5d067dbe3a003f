"""Footprints as the caller may see them: filters, pagination, documents.

Visibility is the ledger's one access policy (``ledger.read.access``, described in
``docs/gateway.md``): the owner and read-all roles see a footprint at ``detail``
level, other orgs through live grants from its owner, at the highest level
granted. Anything else is treated exactly as if it did not exist.

Serving: the ProductFootprint is the one the supplier signed, except ``status``,
which is ``Deprecated`` once the ledger recorded a ``footprint.deprecate`` or a
successor naming it in ``precedingPfIds``. The ledger's own data (entry id,
sequence number, leaf hash, the signed status, the deprecation's sequence
number and, at ``detail`` level, the composition) travels as a PACT data model
extension.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from gateway.access_journal import AccessJournal
from gateway.filters import Filters, matches
from gateway.index_checks import (
    declares,
    declares_products,
    deprecates,
    names_filtered,
)
from gateway.log_size import LogSizeProbe
from ledger.errors import IntegrityError
from ledger.read import VerifiedLog, log_size
from ledger.read.access import (
    Access,
    Caller,
    footprint_access,
    footprint_access_in,
    grants_to,
    now_us,
    product_ids_of,
    visible_footprints,
)
from ledger.read.footprints import (
    FootprintListing,
    FootprintRef,
    active_footprint_id,
    footprint_ref,
    footprint_refs,
)
from ledger.read.grant_records import GrantRecords
from ledger.rules.identity import IdentityState
from ledger.store.log import StoredRecord

#: Footprint ids answered per page when many are asked at once (``access_all``): one
#: query for their index rows, their records proven together; well below the number of
#: entries held (``FootprintAccess._entries``).
_READ_AHEAD_PAGE = 500
EXTENSION_SCHEMA = "urn:carbonledger:extension:ledger-record:1.0.0"
EXTENSION_DOCS = "https://carbonledger.invalid/docs/gateway.md"


class Reads(Protocol):
    """Where the gateway reads from (``ledger.store.database.Database`` or its own pool)."""

    def read(self) -> AbstractContextManager[Connection]: ...


class Lru:
    """A small thread-safe LRU of immutable values (records never change)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[object, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held (without counting as a use)."""
        with self._lock:
            return key in self._items

    def get(self, key: object) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: object, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Visible:
    ref: FootprintRef
    level: str  # "summary" | "detail"


def _wanted(
    footprint: dict[str, Any],
    filters: Filters,
    where: Callable[[dict[str, Any]], bool] | None,
) -> bool:
    return matches(footprint, filters) and (where is None or where(footprint))


class Directory:
    """Roles of enrolled orgs, from the committed identity snapshot (which follows
    enrolments made through other processes within about a second)."""

    def __init__(self, identity: Callable[[], IdentityState]) -> None:
        self._identity = identity

    def roles_of(self, org: str) -> frozenset[str] | None:
        """The org's roles; None if it is not enrolled."""
        enrolled = self._identity().orgs.get(org)
        return enrolled.roles if enrolled else None


class VerifiedEntry(NamedTuple):
    """A record's entry as JSON and its leaf hash, as the signed tree proved them."""

    entry: dict[str, Any]
    leaf_hash: bytes


class FootprintAccess:
    def __init__(
        self,
        db: Reads,
        verified: VerifiedLog,
        hot: Callable[[], AbstractContextManager[Connection]] | None = None,
        probe: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> None:
        self._db = db
        self._verified = verified
        self._entries = Lru(20000)
        # (org, roles, footprint id) -> (log size, Visible | None, valid until): an answer holds
        # while no append reaches it (``gateway.access_journal``) and no grant window it
        # depended on opened or closed.
        self._answers = Lru(50000)
        self._journal = AccessJournal()
        self._bodies = Lru(20000)
        #: the grants that open something, checked against their records (shared by
        #: every route of this gateway that lets a grant open anything)
        self.grants = GrantRecords(verified)
        self._hot = hot or db.read
        self._sizes = LogSizeProbe(probe or db.read)

    # -- entries ----------------------------------------------------------------

    def entry(self, conn: Connection | None, seq: int) -> dict[str, Any]:
        """The recorded entry at ``seq`` as JSON, read only once the signed tree proves it
        (``IntegrityError`` otherwise), then cached: what is served is the verified copy.
        ``conn``: None to open one only if the entry is not cached."""
        return self._verified_entry(conn, seq).entry

    def _verified_entry(self, conn: Connection | None, seq: int) -> VerifiedEntry:
        cached: VerifiedEntry | None = self._entries.get(seq)
        if cached is not None:
            return cached
        if conn is None:
            with self._db.read() as opened:
                return self._verified_entry(opened, seq)
        record = self._verified.record(seq, conn)
        if record is None:
            missing = IntegrityError(seq, "the footprint index names a record not in the log")
            self._verified.monitor.report(missing)
            raise missing
        return self._cached(record)

    def _cached(self, record: StoredRecord) -> VerifiedEntry:
        """Hold a verified record's entry for later reads."""
        cached = VerifiedEntry(json.loads(record.entry), record.leaf_hash)
        self._entries.put(record.seq, cached)
        return cached

    def _read_ahead(self, conn: Connection, footprint_ids: Sequence[str]) -> None:
        """Read and prove together the records that answers about ``footprint_ids`` will
        confirm (their footprints and deprecations) and that are not held yet: one proof
        per page instead of one per record, as each answer would otherwise read its own.
        The answers still check every record against the index row they read it by, and
        a record left out here (missing, or failing its proof) fails, and is reported,
        when an answer reads it."""
        seqs: set[int] = set()
        for ref in footprint_refs(conn, footprint_ids):
            seqs.update(s for s in (ref.seq, ref.deprecated_seq) if s is not None)
        wanted = [seq for seq in seqs if seq not in self._entries]
        for record in self._verified.proven_records(wanted, conn):
            self._cached(record)

    def indexed_entry(
        self,
        conn: Connection | None,
        seq: int,
        index: str,
        agrees: Callable[[dict[str, Any]], bool],
    ) -> dict[str, Any]:
        """The verified entry at ``seq``, which the derived ``index`` named for a reason
        ``agrees`` checks against the entry itself. The derived tables are not signed: an
        insider could point an index row at another genuine record (another org's
        footprint, someone else's retirement); such a record is refused like a tampered
        one rather than served under the wrong name."""
        return self._agreed(seq, index, agrees, self.entry(conn, seq))

    def _agreed(
        self, seq: int, index: str, agrees: Callable[[dict[str, Any]], bool], entry: dict[str, Any]
    ) -> dict[str, Any]:
        if not agrees(entry):
            mismatch = IntegrityError(seq, f"the {index} index does not match the record it names")
            self._verified.monitor.report(mismatch)
            raise mismatch
        return entry

    def footprint_entry(self, conn: Connection | None, ref: FootprintRef) -> dict[str, Any]:
        """The footprint entry ``ref`` names, checked to be that org's footprint of that id
        with ``ref``'s entry id and leaf hash (all served: ``build_document``), and, when
        the index says it was deprecated, that the record it names for that deprecated it.
        Checked on every read, cached entries too: the index row is read anew each time."""
        verified = self._verified_entry(conn, ref.seq)
        claim = declares(ref)
        entry = self._agreed(
            ref.seq,
            "footprint",
            lambda e: claim(e) and verified.leaf_hash == ref.leaf_hash,
            verified.entry,
        )
        if ref.active == (ref.deprecated_seq is not None):
            self._agreed(ref.seq, "footprint", lambda e: False, entry)
        if ref.deprecated_seq is not None:
            self.indexed_entry(conn, ref.deprecated_seq, "deprecation", deprecates(ref))
        return entry

    def product_footprint(
        self, conn: Connection, owner: str, product_id: str, company_id: str
    ) -> str | None:
        """``owner``'s active footprint of the product for the company (no batch), checked
        to declare them."""
        fid = active_footprint_id(conn, owner, product_id, company_id, None)
        ref = None if fid is None else footprint_ref(conn, fid)
        if ref is None:
            return None
        self._agreed(
            ref.seq,
            "footprint product",
            lambda e: (
                product_id in e["footprint"].get("productIds", ())
                and company_id in e["footprint"].get("companyIds", ())
            ),
            self.footprint_entry(conn, ref),
        )
        return ref.footprint_id

    # -- reads ------------------------------------------------------------------

    def get(self, org: str, roles: frozenset[str], footprint_id: str) -> Visible | None:
        """The footprint if ``org`` may see it, with the level; None otherwise."""
        return self.access(org, roles, footprint_id)[0]

    def access(
        self, org: str, roles: frozenset[str], footprint_id: str
    ) -> tuple[Visible | None, float]:
        """:meth:`get`'s answer and the time (seconds since the epoch) until which it holds
        unless the log grows: the next edge of a grant window it rests on."""
        with self._db.read() as conn:
            return self._answer_at(log_size(conn), conn, org, roles, footprint_id)

    def access_all(
        self, org: str, roles: frozenset[str], footprint_ids: Sequence[str]
    ) -> list[tuple[Visible | None, float]]:
        """:meth:`access` of each of ``footprint_ids``, answered on one connection at one
        log size, a page at a time, each page's records read ahead together (a page, so
        that what is read ahead is still held when its answers read it)."""
        answers: list[tuple[Visible | None, float]] = []
        with self._db.read() as conn:
            size = log_size(conn)
            for start in range(0, len(footprint_ids), _READ_AHEAD_PAGE):
                page = footprint_ids[start : start + _READ_AHEAD_PAGE]
                # an answer held already needs no record unless the log reached it since
                unheld = [fid for fid in page if (org, roles, fid) not in self._answers]
                if unheld:
                    self._read_ahead(conn, unheld)
                answers += (self._answer_at(size, conn, org, roles, fid) for fid in page)
        return answers

    async def log_size(self) -> int:
        """A log size queried after this call began, shared with concurrent reads of this
        event loop (``LogSizeProbe``)."""
        return await self._sizes.current()

    def _visible_at(
        self, size: int, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> Visible | None:
        return self._answer_at(size, conn, org, roles, footprint_id)[0]

    def _answer_at(
        self, size: int, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> tuple[Visible | None, float]:
        key = (org, roles, footprint_id)
        hit = self._answers.get(key)
        if hit is not None and time.time() < hit[2]:
            if hit[0] == size:
                return hit[1], hit[2]
            if hit[0] < size and self._journal.untouched(conn, hit[0], size, footprint_id, org):
                self._answers.put(key, (size, hit[1], hit[2]))
                return hit[1], hit[2]
        found, valid_until = self._get(conn, org, roles, footprint_id)
        # The journal's next advance starts here, so it can vouch for this answer alone.
        self._journal.follow(conn, size)
        self._answers.put(key, (size, found, valid_until))
        return found, valid_until

    async def get_body(
        self,
        org: str,
        roles: frozenset[str],
        footprint_id: str,
        render: Callable[[dict[str, Any]], bytes],
    ) -> bytes | None:
        """``render`` of the document if ``org`` may see it, as of a log size queried after
        this call began (shared with concurrent calls: ``LogSizeProbe``). Called on the
        event loop: the rest is cached, or one or two index look-ups on the hot
        connection (see ``ReadPool``)."""
        size = await self.log_size()
        with self._hot() as conn:
            found = self._visible_at(size, conn, org, roles, footprint_id)
            if found is None:
                return None
            ref = found.ref
            key = (ref.seq, found.level, ref.active, ref.deprecated_seq, render)
            cached: bytes | None = self._bodies.get(key)
            if cached is None:
                cached = render(build_document(self.footprint_entry(conn, ref), ref, found.level))
                self._bodies.put(key, cached)
            return cached

    def close(self) -> None:
        self._sizes.close()

    def _get(
        self, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> tuple[Visible | None, float]:
        """The answer of the access policy (``ledger.read.access``) and the time (seconds
        since the epoch) until which it holds unless the log grows."""
        ref = footprint_ref(conn, footprint_id)
        # A missing id asks the policy too, about an owner that does not exist: hidden and
        # missing ids then cost the same look-ups and cannot be told apart by timing.
        owner = "" if ref is None else ref.org_id
        access = footprint_access_in(conn, Caller(org, roles), owner, footprint_id, now_us())
        if ref is None:
            return None, math.inf
        if access.level:
            self._confirm_opened(
                conn, ref, access, product_ids_of(conn, [footprint_id])[footprint_id]
            )
        return (Visible(ref, access.level) if access.level else None), access.changes_at

    def _confirm_opened(
        self, conn: Connection, ref: FootprintRef, access: Access, product_ids: list[str]
    ) -> None:
        """Before a footprint ``access`` opened is served on the index's word: its record
        is the signer's footprint the row names, the products through which a
        product-line grant may have reached it (``product_ids``, from the index) are ones
        it declares, and the grants that opened it state their records."""
        self._agreed(
            ref.seq,
            "footprint product",
            declares_products(product_ids),
            self.footprint_entry(conn, ref),
        )
        self.grants.confirm(conn, access)

    def list(
        self,
        org: str,
        roles: frozenset[str],
        filters: Filters,
        *,
        after_seq: int,
        limit: int,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[list[Visible], int | None]:
        """Up to ``limit`` visible footprints with seq > ``after_seq`` in seq order, and the
        seq to continue after when there are more. ``where``: a further condition on the
        signed ProductFootprint (the v2.3 ``$filter``), checked like the v3 filters that
        SQL cannot answer, so that pages and their links stay exact."""
        status = (filters.status or "").lower()
        if filters.status is not None and status not in ("active", "deprecated"):
            return [], None
        caller, at = Caller(org, roles), now_us()
        with self._db.read() as conn:
            grants = [] if caller.reads_all else grants_to(conn, caller)
            listing = FootprintListing(
                visible=visible_footprints(caller, grants, at),
                product_ids=filters.product_ids or (),
                company_ids=filters.company_ids or (),
                active=(status == "active") if status else None,
            )
            found: list[Visible] = []
            cursor = after_seq
            chunk = max(min(limit + 1, 1001), 50)
            while True:
                refs = listing.page(conn, after_seq=cursor, limit=chunk)
                products = product_ids_of(
                    conn, [r.footprint_id for r in refs if not caller.sees_all_of(r.org_id)]
                )
                for ref in refs:
                    cursor = ref.seq
                    access = footprint_access(
                        caller,
                        ref.org_id,
                        ref.footprint_id,
                        products.get(ref.footprint_id, ()),
                        grants,
                        at,
                    )
                    level = access.level
                    if level is None:
                        continue
                    if ref.footprint_id in products:  # not the caller's own: grants opened it
                        self._confirm_opened(conn, ref, access, products[ref.footprint_id])
                    if filters.product_ids or filters.company_ids:
                        self._agreed(
                            ref.seq,
                            "footprint product",
                            names_filtered(filters),
                            self.footprint_entry(conn, ref),
                        )
                    if (filters.python_side() or where) and not _wanted(
                        self.footprint_entry(conn, ref)["footprint"], filters, where
                    ):
                        continue
                    if len(found) == limit:
                        return found, found[-1].ref.seq if found else after_seq
                    found.append(Visible(ref, level))
                if len(refs) < chunk:
                    return found, None

    # -- documents ----------------------------------------------------------------

    def document(self, visible: Visible) -> dict[str, Any]:
        """The PACT v3 ProductFootprint as served (see the module docstring)."""
        ref = visible.ref
        return build_document(self.footprint_entry(None, ref), ref, visible.level)


def build_document(entry: dict[str, Any], ref: FootprintRef, level: str) -> dict[str, Any]:
    doc = dict(entry["footprint"])
    signed_status = doc["status"]
    if not ref.active:
        doc["status"] = "Deprecated"
    data: dict[str, Any] = {
        "entryId": ref.entry_id,
        "seq": ref.seq,
        "leafHash": ref.leaf_hash.hex(),
        "signedBy": ref.org_id,
        "signedStatus": signed_status,
        "ledgerStatus": "Active" if ref.active else "Deprecated",
        "deprecatedSeq": ref.deprecated_seq,
        "accessLevel": level,
    }
    if level == "detail":
        data["composition"] = entry["composition"]
    extension = {
        "specVersion": "1.0.0",
        "dataSchema": EXTENSION_SCHEMA,
        "documentation": EXTENSION_DOCS,
        "data": data,
    }
    doc["extensions"] = [*(doc.get("extensions") or []), extension]
    return doc
