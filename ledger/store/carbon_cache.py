"""The sequencer's carbon view: the indexed tables, with the facts its rules ask most kept
in memory from one group commit to the next and its writes run once per commit.

Every footprint entry asks several questions of the log so far (is the product already
declared, which footprint is active for it, what does each cited product or footprint
resolve to, which factor) and records its own facts. Asked of the database, each is one
to three statements, and each statement's Python side costs more than the rule itself;
written one by one, every fact is one more. Here:

* **Footprints, active footprints, declared products and factors** are answered from
  :class:`CarbonFactsCache` when it holds the key, negative answers included, and from
  the tables otherwise (then kept). Every update of one of these facts also updates the
  cache, so a key the cache does not hold is one no write of the commit touched, and the
  tables' answer for it is current even while the commit's writes are held.
* **Every other question** (grants, retirements, sites, activity batches) is asked of
  the tables after the held writes are run, so it sees the commit's earlier entries.
* **Writes** are held (:class:`ledger.store.write_batch.WriteBatch`) and run by
  :meth:`CachedCarbonView.flush` inside the commit's transaction.

The cache is valid for one log size only (``CarbonFactsCache.size``). The sequencer
holds the database's sequencer lock while it uses it: if the log is longer than the
cache's size, another process appended and the cache is dropped before the rules run;
if a commit fails, nothing it cached survives (``CarbonFactsCache.reset``). The facts
are a function of the log alone, as the auditor's replay shows, so a cache that saw
every entry since it was filled agrees with the tables.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ledger.rules.view import (
    FactorFacts,
    FootprintFacts,
    GenerationSpan,
    GrantFacts,
    SerialSpan,
    SiteInput,
)
from ledger.store.carbon_index import SqlCarbonView
from ledger.store.write_batch import WriteBatch

if TYPE_CHECKING:
    from ledger.entries import Entry
    from ledger.zero_carbon.gather import RecordedEntry

ActiveKey = tuple[str, str, str, str]  # (org, product, company, batch key)


def _active_key(org_id: str, product_id: str, company_id: str, batch_id: str | None) -> ActiveKey:
    """The key of the partial unique index ``ux_footprint_product_active``, whose batch
    key is ``""`` for no batch."""
    return (org_id, product_id, company_id, batch_id or "")


#: Facts kept across commits, at most: ≈ 180 bytes each, five per footprint, so ≈ 180 MB
#: for the last ≈ 200,000 footprints recorded or asked about. Past it the cache starts
#: again empty after a commit (never within one: held writes rely on what it holds), and
#: the questions go to the tables' indexes until it has filled again.
CACHED_FACTS = 1_000_000


class CarbonFactsCache:
    """The facts :class:`CachedCarbonView` answers from memory, as of log size ``size``
    (-1: none yet). Owned by one sequencer; used under its lock only."""

    def __init__(self, limit: int = CACHED_FACTS) -> None:
        self.limit = limit
        self.size = -1
        self.footprints: dict[str, FootprintFacts | None] = {}
        self.by_entry: dict[str, str | None] = {}
        self.by_leaf: dict[bytes, str | None] = {}
        self.active: dict[ActiveKey, str | None] = {}
        self.declared: dict[tuple[str, str], bool] = {}
        self.factor_sets: dict[tuple[str, str], int | None] = {}
        self.factors: dict[tuple[str, str, str], FactorFacts | None] = {}

    def _maps(self) -> tuple[dict[Any, Any], ...]:
        return (
            self.footprints,
            self.by_entry,
            self.by_leaf,
            self.active,
            self.declared,
            self.factor_sets,
            self.factors,
        )

    def reset(self) -> None:
        """Forget everything (a failed commit, or another process's appends)."""
        for facts in self._maps():
            facts.clear()
        self.size = -1

    def start(self, log_size: int) -> None:
        """Begin a commit on a log of ``log_size`` entries (the sequencer lock held)."""
        if log_size != self.size:
            self.reset()

    def committed(self, log_size: int) -> None:
        """The commit succeeded and the log now has ``log_size`` entries."""
        if sum(map(len, self._maps())) > self.limit:
            self.reset()
        self.size = log_size


class CachedCarbonView:
    """A ``CarbonView`` over the tables on ``conn`` with ``cache`` in front (see the
    module's docstring for which questions it answers from memory)."""

    def __init__(self, conn: Connection, cache: CarbonFactsCache) -> None:
        self._held = WriteBatch(conn)
        self._sql = SqlCarbonView(conn, self._held)
        self._cache = cache

    def flush(self) -> None:
        """Run the held writes (inside the caller's transaction)."""
        self._held.flush()

    def _tables(self) -> SqlCarbonView:
        """The tables, with every held write run: for a question the cache does not keep."""
        self._held.flush()
        return self._sql

    # -- answered from the cache ----------------------------------------------

    def footprint(self, footprint_id: str) -> FootprintFacts | None:
        footprints = self._cache.footprints
        if footprint_id not in footprints:
            footprints[footprint_id] = self._sql.footprint(footprint_id)
        return footprints[footprint_id]

    def footprint_by_entry(self, entry_id: str) -> FootprintFacts | None:
        by_entry = self._cache.by_entry
        if entry_id not in by_entry:
            facts = self._sql.footprint_by_entry(entry_id)
            by_entry[entry_id] = self._keep(facts)
        fid = by_entry[entry_id]
        return None if fid is None else self.footprint(fid)

    def footprint_by_leaf(self, leaf_hash: bytes) -> FootprintFacts | None:
        by_leaf = self._cache.by_leaf
        if leaf_hash not in by_leaf:
            by_leaf[leaf_hash] = self._keep(self._sql.footprint_by_leaf(leaf_hash))
        fid = by_leaf[leaf_hash]
        return None if fid is None else self.footprint(fid)

    def _keep(self, facts: FootprintFacts | None) -> str | None:
        """Cache ``facts`` (read from the tables) under its id unless already held (the
        held copy may be newer: deprecated in this commit) and return the id."""
        if facts is None:
            return None
        self._cache.footprints.setdefault(facts.footprint_id, facts)
        return facts.footprint_id

    def active_footprint(
        self, org_id: str, product_id: str, company_id: str, batch_id: str | None
    ) -> FootprintFacts | None:
        key = _active_key(org_id, product_id, company_id, batch_id)
        active = self._cache.active
        if key not in active:
            active[key] = self._keep(
                self._sql.active_footprint(org_id, product_id, company_id, batch_id)
            )
        fid = active[key]
        return None if fid is None else self.footprint(fid)

    def has_declared(self, org_id: str, product_id: str) -> bool:
        key = (org_id, product_id)
        declared = self._cache.declared
        if key not in declared:
            declared[key] = self._sql.has_declared(org_id, product_id)
        return declared[key]

    def factor_set_seq(self, set_id: str, version: str) -> int | None:
        key = (set_id, version)
        sets = self._cache.factor_sets
        if key not in sets:
            sets[key] = self._sql.factor_set_seq(set_id, version)
        return sets[key]

    def factor(self, set_id: str, version: str, key: str) -> FactorFacts | None:
        cache_key = (set_id, version, key)
        factors = self._cache.factors
        if cache_key not in factors:
            factors[cache_key] = self._sql.factor(set_id, version, key)
        return factors[cache_key]

    # -- asked of the tables ------------------------------------------------------

    def overlapping_retirement(self, span: SerialSpan) -> int | None:
        return self._tables().overlapping_retirement(span)

    def grant(self, entry_id: str) -> GrantFacts | None:
        return self._tables().grant(entry_id)

    def live_grant(
        self,
        grantee: str,
        grantor: str,
        footprint_id: str | None,
        product_ids: tuple[str, ...],
        at_us: int,
        *,
        detail: bool = False,
    ) -> GrantFacts | None:
        return self._tables().live_grant(
            grantee, grantor, footprint_id, product_ids, at_us, detail=detail
        )

    def activity_batch_org(self, entry_id: str) -> str | None:
        return self._tables().activity_batch_org(entry_id)

    def site_owner(self, site: str) -> str | None:
        return self._tables().site_owner(site)

    def site_inputs(self, site: str, years: tuple[int, ...]) -> list[SiteInput]:
        return self._tables().site_inputs(site, years)

    def live_inventory_grant(self, grantee: str, grantor: str, at_us: int) -> GrantFacts | None:
        return self._tables().live_inventory_grant(grantee, grantor, at_us)

    def site_record(self, seq: int) -> RecordedEntry:
        return self._tables().site_record(seq)

    def generation_spans_near(
        self, site: str, meter_id: str, start_us: int, end_us: int
    ) -> list[GenerationSpan]:
        return self._tables().generation_spans_near(site, meter_id, start_us, end_us)

    # -- updates: held, and applied to the cache ----------------------------------

    def add_footprint(self, facts: FootprintFacts) -> None:
        self._sql.add_footprint(facts)
        cache = self._cache
        fid = facts.footprint_id
        cache.footprints[fid] = facts
        cache.by_entry[facts.entry_id] = fid
        cache.by_leaf[facts.leaf_hash] = fid
        for product in facts.product_ids:
            cache.declared[(facts.org_id, product)] = True
            for company in facts.company_ids:
                cache.active[_active_key(facts.org_id, product, company, facts.batch_id)] = fid

    def deprecate_footprint(self, footprint_id: str, seq: int) -> None:
        facts = self.footprint(footprint_id)  # read (and kept) before the write is held
        self._sql.deprecate_footprint(footprint_id, seq)
        if facts is None or not facts.active:
            return
        self._cache.footprints[footprint_id] = dataclasses.replace(facts, active=False)
        for product in facts.product_ids:
            for company in facts.company_ids:
                # it was the one active footprint under each of its keys
                key = _active_key(facts.org_id, product, company, facts.batch_id)
                self._cache.active[key] = None

    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None:
        self._sql.add_factor_set(set_id, version, seq, factors)
        self._cache.factor_sets[(set_id, version)] = seq
        for f in factors:
            self._cache.factors[(set_id, version, f.key)] = f

    def add_retirement(
        self, span: SerialSpan, seq: int, org_id: str, beneficiaries: tuple[str, ...] = ()
    ) -> None:
        self._sql.add_retirement(span, seq, org_id, beneficiaries)

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None:
        self._sql.add_attestation(entry_id, footprint_id, seq, org_id)

    def add_grant(self, facts: GrantFacts) -> None:
        self._sql.add_grant(facts)

    def revoke_grant(self, entry_id: str, seq: int) -> None:
        self._sql.revoke_grant(entry_id, seq)

    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None:
        self._sql.add_activity_batch(entry_id, org_id, seq)

    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None:
        self._sql.add_target(entry_id, seq, buyer, supplier)

    def add_site(self, site: str, org_id: str, seq: int) -> None:
        self._sql.add_site(site, org_id, seq)

    def add_site_input(self, site: str, facts: SiteInput) -> None:
        self._sql.add_site_input(site, facts)

    def add_site_record(self, entry: Entry, seq: int, leaf_hash: bytes) -> None:
        self._sql.add_site_record(entry, seq, leaf_hash)

    def add_generation_spans(self, site: str, seq: int, spans: tuple[GenerationSpan, ...]) -> None:
        self._sql.add_generation_spans(site, seq, spans)
