"""The one access policy: what a caller may read of the ledger, used by every read path.

gRPC (``GetEntry``, ``StreamEntries``), the PACT v2.3/v3.0 reads and lists, the
native ``/v1`` routes, computed footprints and asynchronous request fulfilment all
ask this module, so they cannot disagree. The decision is written once, as pure
functions over facts (``footprint_access``, ``entry_access``); the SQL-backed
functions below only gather those facts from the index tables, and
``visible_footprints`` turns the same rule into a filter for listings.

The rule (``docs/security.md``, "One access policy"):

* the owner of an object and orgs with a read-all role (``READ_ALL_ROLES``) see it
  at ``detail`` level;
* any other org sees a footprint through a grant to it, by the footprint's owner,
  naming the footprint (``footprintId``) or one of its product ids (``productId``,
  a product-line grant: it covers only footprints its grantor declared), that is
  not revoked and whose signed window ``[validFrom, validUntil)`` holds now, at
  the highest level such grants give;
* a supplier's yearly inventories and its progress against targets are seen by
  another org only through a live inventory grant from the supplier (``grant`` with
  ``inventory: true``); a buyer's ``target`` naming the supplier opens nothing;
* a site's zero-carbon evaluation for a year is seen by whoever sees its owner's
  inventories, and by a verifier that recorded a ``site.attestation`` of that site-year,
  which keeps seeing the evaluation as of its (latest) attestation of it, after the
  grant it rated under ends: what it rated, never a later year or later data;
* a recorded entry's bytes are readable by its signer and read-all roles, for a
  footprint entry (it carries the composition) at ``detail`` level, for an
  ``inventory`` entry through a live inventory grant, and for a grant entry by its
  grantee; nothing else.

An answer that rests on grants holds until the next edge of one of their windows
(``Access.changes_at_us``) or until the log grows (a new grant or revocation).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from ledger.rules.view import GrantFacts
from ledger.store.carbon_index import GRANT_COLUMNS
from ledger.store.index_tables import (
    FootprintProductRow,
    FootprintRow,
    GrantRow,
    SiteInputRow,
    SiteRow,
)
from ledger.store.log import StoredRecord
from ledger.store.tables import RecordRow

if TYPE_CHECKING:  # it reads verified records, which this module's rules do not
    from ledger.read.grant_records import GrantRecords

_F = FootprintRow.__table__  # type: ignore[attr-defined]
_FP = FootprintProductRow.__table__  # type: ignore[attr-defined]
_GR = GrantRow.__table__  # type: ignore[attr-defined]
_ST = SiteRow.__table__  # type: ignore[attr-defined]
_SI = SiteInputRow.__table__  # type: ignore[attr-defined]
_R = RecordRow.__table__  # type: ignore[attr-defined]

READ_ALL_ROLES = frozenset({"auditor", "operator"})
# gRPC metadata by which a reader (the auditor) says it needs every entry: the
# ledger then refuses a caller without a read-all role with PERMISSION_DENIED
# instead of streaming the entries it may see, which an audit would take for
# records the ledger withheld.
WHOLE_LOG_METADATA = ("carbonledger-read", "whole-log")

SUMMARY = "summary"
DETAIL = "detail"
_RANK = {SUMMARY: 1, DETAIL: 2}


def now_us() -> int:
    """The policy's clock: UTC microseconds since the epoch, as grant windows are stored."""
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class Caller:
    org: str
    roles: frozenset[str]

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & READ_ALL_ROLES)

    def sees_all_of(self, owner: str) -> bool:
        """Whether the caller reads everything ``owner`` records (its own, or a read-all role)."""
        return self.org == owner or self.reads_all


@dataclass(frozen=True, slots=True)
class Access:
    level: str | None  # None: the caller may not see it (answered as if it did not exist)
    changes_at_us: float = math.inf  # the next window edge after which the answer may differ
    #: the grants that give ``level`` (none for the owner and read-all roles), for a reader
    #: to check against their signed records before serving on their word
    by: tuple[GrantFacts, ...] = ()

    @property
    def changes_at(self) -> float:
        """``changes_at_us`` in seconds since the epoch (``time.time()``'s scale)."""
        return self.changes_at_us / 1_000_000


_EVERYTHING = Access(DETAIL)
_NOTHING = Access(None)


# -- the decision (pure) ------------------------------------------------------------


def _covers(
    grant: GrantFacts, caller: Caller, owner: str, footprint_id: str, product_ids: Sequence[str]
) -> bool:
    return (
        grant.grantee == caller.org
        and grant.grantor == owner
        and (
            grant.footprint_id == footprint_id
            or (grant.product_id is not None and grant.product_id in product_ids)
        )
    )


def footprint_access(
    caller: Caller,
    owner: str,
    footprint_id: str,
    product_ids: Sequence[str],
    grants: Iterable[GrantFacts],
    at_us: int,
) -> Access:
    """The level at which ``caller`` sees ``owner``'s footprint at ``at_us``, given the
    caller's grants (any superset of those that cover the footprint)."""
    if caller.sees_all_of(owner):
        return _EVERYTHING
    best, changes, by = 0, math.inf, []
    for grant in grants:
        if not _covers(grant, caller, owner, footprint_id, product_ids):
            continue
        for edge in (grant.valid_from_us, grant.valid_until_us):
            if edge is not None and edge > at_us:
                changes = min(changes, edge)
        if grant.live_at(at_us) and grant.level is not None:
            rank = _RANK[grant.level]
            if rank > best:
                best, by = rank, [grant]
            elif rank == best:
                by.append(grant)
    level = next((name for name, rank in _RANK.items() if rank == best), None)
    return Access(level, changes, tuple(by))


def inventory_access(
    caller: Caller, supplier: str, grants: Iterable[GrantFacts], at_us: int
) -> Access:
    """Whether ``caller`` sees ``supplier``'s inventories and progress at ``at_us``
    (level ``detail`` or nothing), given the caller's grants."""
    if caller.sees_all_of(supplier):
        return _EVERYTHING
    live, changes = [], math.inf
    for grant in grants:
        if not (grant.inventory and grant.grantor == supplier and grant.grantee == caller.org):
            continue
        for edge in (grant.valid_from_us, grant.valid_until_us):
            if edge is not None and edge > at_us:
                changes = min(changes, edge)
        if grant.live_at(at_us):
            live.append(grant)
    return Access(DETAIL if live else None, changes, tuple(live))


@dataclass(frozen=True, slots=True)
class SiteSight:
    """What a caller sees of a site-year's evaluation: nothing (``visible`` False), the
    log as of any size it asks (``below`` None), or at most the log's first ``below``
    records."""

    visible: bool
    below: int | None = None


def site_access(inventories: Access, attested_seq: int | None) -> SiteSight:
    """What a caller sees of a site-year's zero-carbon evaluation, given its access to
    the owner's inventories (``inventory_access``) and the seq of its latest
    ``site.attestation`` of that site-year (None: none). The evaluation is made of the
    owner's inventories, so no one sees it who could not see them, except the verifier
    that rated it, which sees it only as it rated it (the log up to its attestation):
    a rating gives no lasting view of other years or of what the owner records later."""
    if inventories.level is not None:
        return SiteSight(True)
    if attested_seq is not None:
        return SiteSight(True, attested_seq + 1)
    return SiteSight(False)


def entry_access(
    caller: Caller,
    signer: str,
    entry_type: str,
    *,
    footprint: Access | None = None,
    inventories: Access | None = None,
    grantee: str | None = None,
) -> bool:
    """Whether ``caller`` may read a recorded entry's bytes. ``footprint`` is the
    caller's access to the footprint a footprint entry declares, ``inventories`` its
    access to the signer's inventories, ``grantee`` the org a grant entry names."""
    if caller.sees_all_of(signer):
        return True
    if entry_type == "footprint":
        return footprint is not None and footprint.level == DETAIL  # bytes carry the composition
    if entry_type == "inventory":
        return inventories is not None and inventories.level is not None
    if entry_type == "grant":
        return grantee == caller.org
    return False


# -- facts from the index tables -------------------------------------------------------


def _grants(conn: Connection, *where: ColumnElement[bool]) -> list[GrantFacts]:
    rows = conn.execute(select(*GRANT_COLUMNS).where(_GR.c.revoked_seq.is_(None), *where))
    return [GrantFacts(**row._asdict()) for row in rows]


def grants_to(conn: Connection, caller: Caller) -> list[GrantFacts]:
    """The caller's unrevoked grants (one probe of the grantee index)."""
    return _grants(conn, _GR.c.grantee == caller.org)


def product_ids_of(conn: Connection, footprint_ids: Sequence[str]) -> dict[str, list[str]]:
    """The product ids each footprint declares (primary-key probes of ``footprint_product``)."""
    out: dict[str, list[str]] = {fid: [] for fid in footprint_ids}
    if footprint_ids:
        rows = conn.execute(
            select(_FP.c.footprint_id, _FP.c.product_id)
            .where(_FP.c.footprint_id.in_(footprint_ids))
            .distinct()
        )
        for fid, product in rows:
            out[fid].append(product)
    return out


def footprint_access_in(
    conn: Connection,
    caller: Caller,
    owner: str,
    footprint_id: str,
    at_us: int,
    *,
    products: Sequence[str] | None = None,
) -> Access:
    """``footprint_access`` for one footprint, with only the grants that could cover it.
    ``products``: the product ids its signed entry declares; without them they are read
    from ``footprint_product``'s rows, which the caller then checks against the entry."""
    if caller.sees_all_of(owner):
        return _EVERYTHING
    grants = _grants(
        conn,
        _GR.c.grantee == caller.org,
        _GR.c.grantor == owner,
        or_(
            _GR.c.footprint_id == footprint_id,
            _GR.c.product_id.in_(
                select(_FP.c.product_id).where(_FP.c.footprint_id == footprint_id)
                if products is None
                else products
            ),
        ),
    )
    if not grants:
        return _NOTHING
    if products is None:
        products = product_ids_of(conn, [footprint_id])[footprint_id]
    return footprint_access(caller, owner, footprint_id, products, grants, at_us)


def inventory_access_in(
    conn: Connection, caller: Caller, supplier: str, at_us: int, grants: GrantRecords
) -> Access:
    """``inventory_access`` with the caller's inventory grants from ``supplier`` looked up
    (one probe of ``ix_access_grant_pair``), those that open them confirmed by ``grants``."""
    if caller.sees_all_of(supplier):
        return _EVERYTHING
    rows = _grants(conn, _GR.c.grantor == supplier, _GR.c.grantee == caller.org, _GR.c.inventory)
    return grants.confirm(conn, inventory_access(caller, supplier, rows, at_us))


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the site rows say of a site-year: the site's owner and the seq of its
    ``site.enroll``, and the seq of the caller's latest ``site.attestation`` of the year
    (None: none). Unsigned derived rows: a reader checks them against the records they
    name."""

    owner: str
    enrolled_seq: int
    attested_seq: int | None


def site_facts_in(conn: Connection, caller: Caller, site: str, year: int) -> SiteFacts | None:
    """The site's owner and the caller's latest attestation of ``year``, if the site is
    enrolled (probes of the ``site`` primary key, of ``site_input``'s (site, year, kind)
    key and of records by seq)."""
    row = conn.execute(select(_ST.c.org_id, _ST.c.seq).where(_ST.c.site == site)).first()
    # Asked for a missing site too: hidden and missing cost the same probes.
    attested = conn.execute(
        select(func.max(_SI.c.seq))
        .join(_R, _R.c.seq == _SI.c.seq)
        .where(
            _SI.c.site == site,
            _SI.c.year == year,
            _SI.c.kind == "attestation",
            _R.c.org_id == caller.org,
        )
    ).scalar()
    return None if row is None else SiteFacts(row.org_id, row.seq, attested)


def site_access_in(
    conn: Connection, caller: Caller, facts: SiteFacts, at_us: int, grants: GrantRecords
) -> SiteSight:
    """``site_access`` for the site-year ``facts`` describe, its owner's grants looked up."""
    inventories = inventory_access_in(conn, caller, facts.owner, at_us, grants)
    return site_access(inventories, facts.attested_seq)


def entry_access_in(
    conn: Connection, caller: Caller, record: StoredRecord, at_us: int, grants: GrantRecords
) -> bool:
    """``entry_access`` for the verified ``record``. What decides it is read from the
    signed entry (a footprint's id and products, a grant's grantee), not from index rows
    an insider could move; the grants that open it are confirmed by ``grants``."""
    signer, entry_type = record.org_id, record.entry_type
    if caller.sees_all_of(signer):
        return True
    if entry_type == "footprint":
        declared = json.loads(record.entry)["footprint"]
        access = footprint_access_in(
            conn, caller, signer, declared["id"], at_us, products=declared.get("productIds", [])
        )
        return entry_access(caller, signer, entry_type, footprint=grants.confirm(conn, access))
    if entry_type == "inventory":
        inventories = inventory_access_in(conn, caller, signer, at_us, grants)
        return entry_access(caller, signer, entry_type, inventories=inventories)
    if entry_type == "grant":
        grantee = json.loads(record.entry).get("grantee")
        return entry_access(caller, signer, entry_type, grantee=grantee)
    return entry_access(caller, signer, entry_type)


def visible_footprints(
    caller: Caller, grants: Iterable[GrantFacts], at_us: int
) -> ColumnElement[bool] | None:
    """A condition on the ``footprint`` table selecting what ``caller`` may see at
    ``at_us`` (None: everything), from the caller's grants: index-driven (owner index,
    primary key, ``footprint_product``'s (org, product) index), no per-row Python.
    The level of each row found is ``footprint_access``'s."""
    if caller.reads_all:
        return None
    live = [g for g in grants if g.grantee == caller.org and g.live_at(at_us)]
    direct = sorted({(g.grantor, g.footprint_id) for g in live if g.footprint_id})
    lines = sorted({(g.grantor, g.product_id) for g in live if g.product_id})
    allowed: list[ColumnElement[bool]] = [_F.c.org_id == caller.org]
    if direct:
        allowed.append(tuple_(_F.c.org_id, _F.c.footprint_id).in_(direct))
    if lines:
        allowed.append(
            _F.c.footprint_id.in_(
                select(_FP.c.footprint_id).where(tuple_(_FP.c.org_id, _FP.c.product_id).in_(lines))
            )
        )
    return or_(*allowed)
