"""Footprints as the caller may see them: grants, filters, pagination, documents.

Visibility (``docs/gateway.md``): the owner (the org that recorded the
footprint) and orgs with the ``auditor`` or ``operator`` role see every
footprint at ``detail`` level; any other org sees a footprint granted to it
directly (``grant.footprintId``) or through a product-line grant
(``grant.productId`` by the footprint's owner) that is not revoked and is
within its validity window, at the highest level granted. Anything else is
treated exactly as if it did not exist.

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
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, func, or_, select, tuple_

from gateway.filters import Filters, matches, parse_instant
from gateway.log_size import LogSizeProbe, log_size
from ledger.errors import IntegrityError
from ledger.read import VerifiedLog
from ledger.rules.identity import IdentityState
from ledger.store.index_tables import FootprintProductRow, FootprintRow, GrantRow

_F = FootprintRow.__table__  # type: ignore[attr-defined]
_FP = FootprintProductRow.__table__  # type: ignore[attr-defined]
_GR = GrantRow.__table__  # type: ignore[attr-defined]

READ_ALL_ROLES = frozenset({"auditor", "operator"})
LEVELS = {"summary": 1, "detail": 2}
EXTENSION_SCHEMA = "urn:carbonledger:extension:ledger-record:1.0.0"
EXTENSION_DOCS = "https://carbonledger.invalid/docs/gateway.md"
_FOOTPRINT_COLUMNS = [
    _F.c.footprint_id,
    _F.c.entry_id,
    _F.c.seq,
    _F.c.leaf_hash,
    _F.c.org_id,
    _F.c.active,
    _F.c.deprecated_seq,
]


class Reads(Protocol):
    """Where the gateway reads from (``ledger.store.database.Database`` or its own pool)."""

    def read(self) -> AbstractContextManager[Connection]: ...


class _Lru:
    """A small thread-safe LRU of immutable values (records never change)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[object, Any] = OrderedDict()
        self._lock = threading.Lock()

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
class FootprintRef:
    footprint_id: str
    entry_id: str
    seq: int
    leaf_hash: bytes
    org_id: str
    active: bool
    deprecated_seq: int | None


@dataclass(frozen=True, slots=True)
class Visible:
    ref: FootprintRef
    level: str  # "summary" | "detail"


@dataclass(frozen=True, slots=True)
class _Grant:
    footprint_id: str | None
    product_id: str | None
    grantor: str
    level: str


class Directory:
    """Roles of enrolled orgs, from the committed identity snapshot (which follows
    enrolments made through other processes within about a second)."""

    def __init__(self, identity: Callable[[], IdentityState]) -> None:
        self._identity = identity

    def roles_of(self, org: str) -> frozenset[str] | None:
        """The org's roles; None if it is not enrolled."""
        enrolled = self._identity().orgs.get(org)
        return enrolled.roles if enrolled else None


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
        self._entries = _Lru(20000)
        self._grant_windows = _Lru(20000)
        # (org, footprint id) -> (log size, Visible | None, valid until): an answer holds
        # while the log has not grown and no grant window it depended on opened or closed.
        self._answers = _Lru(50000)
        self._bodies = _Lru(20000)
        self._hot = hot or db.read
        self._sizes = LogSizeProbe(probe or db.read)

    # -- entries ----------------------------------------------------------------

    def entry(self, conn: Connection, seq: int) -> dict[str, Any]:
        """The recorded entry at ``seq`` as JSON, read only once the signed tree proves it
        (``IntegrityError`` otherwise), then cached: what is served is the verified copy."""
        cached: dict[str, Any] | None = self._entries.get(seq)
        if cached is None:
            record = self._verified.record(seq, conn)
            if record is None:
                missing = IntegrityError(seq, "the footprint index names a record not in the log")
                self._verified.monitor.report(missing)
                raise missing
            cached = json.loads(record.entry)
            self._entries.put(seq, cached)
        return cached

    # -- grants -----------------------------------------------------------------

    def _grants(self, conn: Connection, org: str) -> list[_Grant]:
        rows = conn.execute(
            select(
                _GR.c.entry_id,
                _GR.c.seq,
                _GR.c.footprint_id,
                _GR.c.product_id,
                _GR.c.grantor,
                _GR.c.level,
            ).where(_GR.c.grantee == org, _GR.c.revoked_seq.is_(None))
        ).all()
        now = datetime.now(UTC)
        out = []
        for row in rows:
            start, end = self._grant_window(conn, row.seq)
            if (start is None or start <= now) and (end is None or now < end):
                out.append(_Grant(row.footprint_id, row.product_id, row.grantor, row.level))
        return out

    def _grant_window(self, conn: Connection, seq: int) -> tuple[datetime | None, datetime | None]:
        cached: tuple[datetime | None, datetime | None] | None = self._grant_windows.get(seq)
        if cached is None:
            entry = self.entry(conn, seq)
            start, end = entry.get("validFrom"), entry.get("validUntil")
            cached = (
                parse_instant(start) if start else None,
                parse_instant(end) if end else None,
            )
            self._grant_windows.put(seq, cached)
        return cached

    @staticmethod
    def _level(grants: Iterable[_Grant], ref: FootprintRef, products: Sequence[str]) -> str | None:
        best = 0
        for grant in grants:
            if grant.footprint_id == ref.footprint_id or (
                grant.product_id is not None
                and grant.grantor == ref.org_id
                and grant.product_id in products
            ):
                best = max(best, LEVELS[grant.level])
        return {1: "summary", 2: "detail"}.get(best)

    # -- reads ------------------------------------------------------------------

    def get(self, org: str, roles: frozenset[str], footprint_id: str) -> Visible | None:
        """The footprint if ``org`` may see it, with the level; None otherwise."""
        with self._db.read() as conn:
            return self._visible(conn, org, roles, footprint_id)

    def _visible(
        self, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> Visible | None:
        return self._visible_at(log_size(conn), conn, org, roles, footprint_id)

    def _visible_at(
        self, size: int, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> Visible | None:
        key = (org, footprint_id)
        hit = self._answers.get(key)
        if hit is not None and hit[0] == size and time.time() < hit[2]:
            found: Visible | None = hit[1]
            return found
        found, valid_until = self._get(conn, org, roles, footprint_id)
        self._answers.put(key, (size, found, valid_until))
        return found

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
        size = await self._sizes.current()
        with self._hot() as conn:
            found = self._visible_at(size, conn, org, roles, footprint_id)
            if found is None:
                return None
            ref = found.ref
            key = (ref.seq, found.level, ref.active, ref.deprecated_seq, render)
            cached: bytes | None = self._bodies.get(key)
            if cached is None:
                cached = render(build_document(self.entry(conn, ref.seq), ref, found.level))
                self._bodies.put(key, cached)
            return cached

    def close(self) -> None:
        self._sizes.close()

    def _get(
        self, conn: Connection, org: str, roles: frozenset[str], footprint_id: str
    ) -> tuple[Visible | None, float]:
        row = conn.execute(
            select(*_FOOTPRINT_COLUMNS).where(_F.c.footprint_id == footprint_id)
        ).first()
        if row is None:
            return None, math.inf
        ref = FootprintRef(*row)
        if ref.org_id == org or roles & READ_ALL_ROLES:
            return Visible(ref, "detail"), math.inf
        products = list(self.entry(conn, ref.seq)["footprint"]["productIds"])
        rows = conn.execute(
            select(_GR.c.seq, _GR.c.level).where(
                _GR.c.grantee == org,
                _GR.c.revoked_seq.is_(None),
                or_(
                    _GR.c.footprint_id == ref.footprint_id,
                    and_(_GR.c.grantor == ref.org_id, _GR.c.product_id.in_(products)),
                ),
            )
        ).all()
        now = datetime.now(UTC)
        best, valid_until = 0, math.inf
        for seq, level in rows:
            start, end = self._grant_window(conn, seq)
            for edge in (start, end):
                if edge is not None and edge > now:
                    valid_until = min(valid_until, edge.timestamp())
            if (start is None or start <= now) and (end is None or now < end):
                best = max(best, LEVELS[level])
        if not best:
            return None, valid_until
        return Visible(ref, "summary" if best == 1 else "detail"), valid_until

    def visible_seq(self, org: str, roles: frozenset[str], footprint_seq: int) -> str | None:
        """The level at which ``org`` sees the footprint recorded at ``seq``, if any."""
        with self._db.read() as conn:
            fid = conn.execute(select(_F.c.footprint_id).where(_F.c.seq == footprint_seq)).scalar()
        if fid is None:
            return None
        found = self.get(org, roles, fid)
        return found.level if found else None

    def list(
        self,
        org: str,
        roles: frozenset[str],
        filters: Filters,
        *,
        after_seq: int,
        limit: int,
    ) -> tuple[list[Visible], int | None]:
        """Up to ``limit`` visible footprints with seq > ``after_seq`` in seq order, and the
        seq to continue after when there are more."""
        status = (filters.status or "").lower()
        if filters.status is not None and status not in ("active", "deprecated"):
            return [], None
        with self._db.read() as conn:
            query = select(*_FOOTPRINT_COLUMNS)
            grants: list[_Grant] = []
            if not roles & READ_ALL_ROLES:
                grants = self._grants(conn, org)
                direct = {g.footprint_id for g in grants if g.footprint_id}
                lines = {(g.grantor, g.product_id) for g in grants if g.product_id}
                allowed = [_F.c.org_id == org]
                if direct:
                    allowed.append(_F.c.footprint_id.in_(sorted(direct)))
                if lines:
                    allowed.append(
                        _F.c.footprint_id.in_(
                            select(_FP.c.footprint_id).where(
                                tuple_(_FP.c.org_id, _FP.c.product_id).in_(sorted(lines))
                            )
                        )
                    )
                query = query.where(or_(*allowed))
            if filters.product_ids:
                query = query.where(
                    _F.c.footprint_id.in_(
                        select(_FP.c.footprint_id).where(
                            func.lower(_FP.c.product_id).in_(
                                [p.lower() for p in filters.product_ids]
                            )
                        )
                    )
                )
            if filters.company_ids:
                query = query.where(
                    _F.c.footprint_id.in_(
                        select(_FP.c.footprint_id).where(
                            func.lower(_FP.c.company_id).in_(
                                [c.lower() for c in filters.company_ids]
                            )
                        )
                    )
                )
            if status:
                query = query.where(_F.c.active.is_(status == "active"))
            found: list[Visible] = []
            cursor = after_seq
            chunk = max(min(limit + 1, 1001), 50)
            while True:
                rows = conn.execute(
                    query.where(_F.c.seq > cursor).order_by(_F.c.seq).limit(chunk)
                ).all()
                for row in rows:
                    ref = FootprintRef(*row)
                    cursor = ref.seq
                    doc: dict[str, Any] | None = None
                    if ref.org_id == org or roles & READ_ALL_ROLES:
                        level: str | None = "detail"
                    else:
                        doc = self.entry(conn, ref.seq)["footprint"]
                        level = self._level(grants, ref, doc["productIds"])
                    if level is None:
                        continue
                    if filters.python_side():
                        doc = doc or self.entry(conn, ref.seq)["footprint"]
                        if not matches(doc, filters):
                            continue
                    if len(found) == limit:
                        return found, found[-1].ref.seq if found else after_seq
                    found.append(Visible(ref, level))
                if len(rows) < chunk:
                    return found, None

    # -- documents ----------------------------------------------------------------

    def document(self, visible: Visible) -> dict[str, Any]:
        """The PACT v3 ProductFootprint as served (see the module docstring)."""
        ref = visible.ref
        entry: dict[str, Any] | None = self._entries.get(ref.seq)
        if entry is None:
            with self._db.read() as conn:
                entry = self.entry(conn, ref.seq)
        return build_document(entry, ref, visible.level)


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
