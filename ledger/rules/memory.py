"""The carbon view held in memory: what an auditor builds while replaying the log."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from typing import TYPE_CHECKING

from ledger.rules.view import (
    FactorFacts,
    FootprintFacts,
    GenerationSpan,
    GrantFacts,
    SerialSpan,
    SiteInput,
)
from ledger.zero_carbon.gather import RecordedEntry

if TYPE_CHECKING:
    from ledger.entries import Entry


class MemoryCarbonView:
    def __init__(self) -> None:
        self.footprints: dict[str, FootprintFacts] = {}
        self._by_entry: dict[str, str] = {}
        self._by_leaf: dict[bytes, str] = {}
        # (org, product, company, batch) -> the active footprint id
        self._active: dict[tuple[str, str, str, str | None], str] = {}
        self._declared: set[tuple[str, str]] = set()
        self._factor_sets: dict[tuple[str, str], int] = {}
        self._factors: dict[tuple[str, str, str], FactorFacts] = {}
        self._retirements: dict[tuple[str, str, int], list[tuple[str, str, int]]] = defaultdict(
            list
        )
        self.attestations: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        self.grants: dict[str, GrantFacts] = {}
        self._grants_by_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._batches: dict[str, str] = {}
        self._site_owners: dict[str, str] = {}
        self._site_inputs: dict[tuple[str, int], list[SiteInput]] = defaultdict(list)
        self._site_records: dict[int, RecordedEntry] = {}
        # (site, meter) -> its recorded generation spans, sorted by start
        self._generation: dict[tuple[str, str], list[GenerationSpan]] = defaultdict(list)

    def footprint(self, footprint_id: str) -> FootprintFacts | None:
        return self.footprints.get(footprint_id)

    def footprint_by_entry(self, entry_id: str) -> FootprintFacts | None:
        fid = self._by_entry.get(entry_id)
        return self.footprints[fid] if fid else None

    def footprint_by_leaf(self, leaf_hash: bytes) -> FootprintFacts | None:
        fid = self._by_leaf.get(leaf_hash)
        return self.footprints[fid] if fid else None

    def active_footprint(
        self, org_id: str, product_id: str, company_id: str, batch_id: str | None
    ) -> FootprintFacts | None:
        fid = self._active.get((org_id, product_id, company_id, batch_id))
        return self.footprints[fid] if fid else None

    def has_declared(self, org_id: str, product_id: str) -> bool:
        return (org_id, product_id) in self._declared

    def factor_set_seq(self, set_id: str, version: str) -> int | None:
        return self._factor_sets.get((set_id, version))

    def factor(self, set_id: str, version: str, key: str) -> FactorFacts | None:
        return self._factors.get((set_id, version, key))

    def overlapping_retirement(self, span: SerialSpan) -> int | None:
        """Recorded ranges never overlap, so the only candidate is the one starting last at
        or before ``span.last`` (the same answer as the SQL view's index probe)."""
        spans = self._retirements[(span.registry, span.prefix, span.width)]
        i = bisect_right(spans, (span.last, "\U0010ffff", 2**63)) - 1
        return spans[i][2] if i >= 0 and spans[i][1] >= span.first else None

    def grant(self, entry_id: str) -> GrantFacts | None:
        return self.grants.get(entry_id)

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
        for entry_id in self._grants_by_pair[(grantee, grantor)]:
            facts = self.grants[entry_id]
            covers = (footprint_id is not None and facts.footprint_id == footprint_id) or (
                facts.product_id is not None and facts.product_id in product_ids
            )
            if covers and facts.live_at(at_us) and (not detail or facts.level == "detail"):
                return facts
        return None

    def activity_batch_org(self, entry_id: str) -> str | None:
        return self._batches.get(entry_id)

    def site_owner(self, site: str) -> str | None:
        return self._site_owners.get(site)

    def site_inputs(self, site: str, years: tuple[int, ...]) -> list[SiteInput]:
        return sorted(
            facts for year in set(years) for facts in self._site_inputs.get((site, year), ())
        )

    def live_inventory_grant(self, grantee: str, grantor: str, at_us: int) -> GrantFacts | None:
        for entry_id in self._grants_by_pair[(grantee, grantor)]:
            facts = self.grants[entry_id]
            if facts.inventory and facts.live_at(at_us):
                return facts
        return None

    def site_record(self, seq: int) -> RecordedEntry:
        return self._site_records[seq]

    def generation_spans_near(
        self, site: str, meter_id: str, start_us: int, end_us: int
    ) -> list[GenerationSpan]:
        """The spans from the last one starting at or before ``start_us`` to the last one
        starting before ``end_us`` (the SQL view's two index probes)."""
        spans = self._generation.get((site, meter_id), [])
        first = max(0, bisect_right(spans, start_us, key=lambda s: s.start_us) - 1)
        return spans[first : bisect_left(spans, end_us, key=lambda s: s.start_us)]

    def add_footprint(self, facts: FootprintFacts) -> None:
        self.footprints[facts.footprint_id] = facts
        self._by_entry[facts.entry_id] = facts.footprint_id
        self._by_leaf[facts.leaf_hash] = facts.footprint_id
        for product in facts.product_ids:
            self._declared.add((facts.org_id, product))
            for company in facts.company_ids:
                key = (facts.org_id, product, company, facts.batch_id)
                self._active[key] = facts.footprint_id

    def deprecate_footprint(self, footprint_id: str, seq: int) -> None:
        facts = self.footprints[footprint_id]
        self.footprints[footprint_id] = dataclasses.replace(facts, active=False)
        for product in facts.product_ids:
            for company in facts.company_ids:
                key = (facts.org_id, product, company, facts.batch_id)
                if self._active.get(key) == footprint_id:
                    del self._active[key]

    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None:
        self._factor_sets[(set_id, version)] = seq
        for factor in factors:
            self._factors[(set_id, version, factor.key)] = factor

    def add_retirement(
        self, span: SerialSpan, seq: int, org_id: str, beneficiaries: tuple[str, ...] = ()
    ) -> None:
        insort(
            self._retirements[(span.registry, span.prefix, span.width)],
            (span.first, span.last, seq),
        )

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None:
        self.attestations[footprint_id].append((entry_id, seq, org_id))

    def add_grant(self, facts: GrantFacts) -> None:
        self.grants[facts.entry_id] = facts
        self._grants_by_pair[(facts.grantee, facts.grantor)].append(facts.entry_id)

    def revoke_grant(self, entry_id: str, seq: int) -> None:
        self.grants[entry_id] = dataclasses.replace(self.grants[entry_id], revoked_seq=seq)

    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None:
        self._batches[entry_id] = org_id

    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None:
        """No rule reads targets (the index serves the gateway's progress reads), so the
        replay keeps nothing of them."""

    def add_site(self, site: str, org_id: str, seq: int) -> None:
        self._site_owners[site] = org_id

    def add_site_input(self, site: str, facts: SiteInput) -> None:
        self._site_inputs[(site, facts.year)].append(facts)

    def add_site_record(self, entry: Entry, seq: int, leaf_hash: bytes) -> None:
        self._site_records[seq] = RecordedEntry(entry, seq, leaf_hash)

    def add_generation_spans(self, site: str, seq: int, spans: tuple[GenerationSpan, ...]) -> None:
        for span in spans:
            insort(self._generation[(site, span.meter_id)], span)
