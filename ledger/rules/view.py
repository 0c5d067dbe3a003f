"""What the carbon-data rules need to know about the log so far, and how they update it.

The sequencer implements this over indexed tables in the same transaction as
the append (``ledger.store.carbon_index``); the auditor implements it in memory
while replaying (``ledger.rules.memory``). The rules themselves
(``ledger.rules.carbon``) are written once against this protocol, so the ledger
and an independent audit reach the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from ledger.slots_pickle import SlotsPickle

if TYPE_CHECKING:
    from ledger.entries import Entry
    from ledger.zero_carbon.gather import RecordedEntry


@dataclass(frozen=True, slots=True)
class FootprintFacts:
    footprint_id: str
    entry_id: str
    seq: int
    leaf_hash: bytes
    org_id: str
    product_ids: tuple[str, ...]
    company_ids: tuple[str, ...]
    batch_id: str | None
    declared_unit: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class FactorFacts:
    set_id: str
    version: str
    key: str
    unit: str
    value: str


@dataclass(frozen=True, slots=True)
class SerialSpan:
    """A retired serial range in comparable form: same registry, prefix and digit
    width, and numbers as zero-padded digit strings (so string order is number order)."""

    registry: str
    prefix: str
    width: int
    first: str
    last: str


@dataclass(frozen=True, slots=True)
class GrantFacts(SlotsPickle):
    """A grant as the rules read it. The engine's sharing rules hold one per live grant
    (1.5·10⁵ at 10⁶ entries), so it loads from a snapshot by its slots
    (``ledger.slots_pickle``): 0.9 s through the dataclass's own ``__setstate__``."""

    entry_id: str
    seq: int
    grantor: str
    grantee: str
    footprint_id: str | None
    product_id: str | None
    level: str | None  # None for an inventory grant
    valid_from_us: int | None = None  # the signed window, as UTC microseconds since the epoch
    valid_until_us: int | None = None  # exclusive
    revoked_seq: int | None = None
    inventory: bool = False  # the grantor's inventories and progress, not a footprint

    def live_at(self, at_us: int) -> bool:
        """Whether the grant is in force at ``at_us`` (not revoked, inside its window)."""
        return (
            self.revoked_seq is None
            and (self.valid_from_us is None or self.valid_from_us <= at_us)
            and (self.valid_until_us is None or at_us < self.valid_until_us)
        )


#: What a site's derived rows record, per (site, year): the entries its zero-carbon
#: evaluation reads (``inventory`` of the site, ``retirement`` naming it as beneficiary,
#: ``generation`` readings metered at it, ``generated-certificate``: certificates naming it
#: as generator), and the ``attestation``s rating it.
SiteInputKind = Literal[
    "inventory", "retirement", "generation", "generated-certificate", "attestation"
]


@dataclass(frozen=True, slots=True, order=True)
class SiteInput:
    """A recorded entry (``seq``) a site's year refers to, of ``kind``. Ordered by seq."""

    seq: int
    year: int
    kind: SiteInputKind


@dataclass(frozen=True, slots=True, order=True)
class GenerationSpan:
    """A stretch of time one generation meter of a site was read over: contiguous
    readings of a batch merged, bounds in UTC microseconds since the epoch (end
    exclusive). Recorded spans of one meter at one site never overlap, so no
    generation reading counts twice (``ledger.rules.sites``)."""

    meter_id: str
    start_us: int
    end_us: int


class CarbonView(Protocol):
    # -- reads ----------------------------------------------------------------
    def footprint(self, footprint_id: str) -> FootprintFacts | None: ...
    def footprint_by_entry(self, entry_id: str) -> FootprintFacts | None: ...
    def footprint_by_leaf(self, leaf_hash: bytes) -> FootprintFacts | None: ...
    def active_footprint(
        self, org_id: str, product_id: str, company_id: str, batch_id: str | None
    ) -> FootprintFacts | None:
        """``org_id``'s active footprint of the product for the company and batch: one
        per owner, so nothing another org records can block an org's own product."""
        ...

    def has_declared(self, org_id: str, product_id: str) -> bool: ...
    def factor_set_seq(self, set_id: str, version: str) -> int | None: ...
    def factor(self, set_id: str, version: str, key: str) -> FactorFacts | None: ...
    def overlapping_retirement(self, span: SerialSpan) -> int | None: ...
    def grant(self, entry_id: str) -> GrantFacts | None: ...
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
        """A grant by ``grantor`` to ``grantee``, live at ``at_us`` (``GrantFacts.live_at``),
        for ``footprint_id`` or a product line among ``product_ids`` (at ``detail`` level
        if ``detail``); None if there is none. Citing another org's product or footprint
        needs one, attesting it one at ``detail`` (``ledger.rules.carbon``)."""
        ...

    def activity_batch_org(self, entry_id: str) -> str | None: ...
    def site_owner(self, site: str) -> str | None:
        """The org that enrolled ``site``, or None."""
        ...

    def site_inputs(self, site: str, years: tuple[int, ...]) -> list[SiteInput]:
        """What ``site``'s rows record for ``years``, in log order."""
        ...

    def live_inventory_grant(self, grantee: str, grantor: str, at_us: int) -> GrantFacts | None:
        """An inventory grant by ``grantor`` to ``grantee`` live at ``at_us``, or None."""
        ...

    def site_record(self, seq: int) -> RecordedEntry:
        """The entry recorded at ``seq`` (a seq a site row names), in full (readings
        included), and its leaf hash: what a site's evaluation reads."""
        ...

    def generation_spans_near(
        self, site: str, meter_id: str, start_us: int, end_us: int
    ) -> list[GenerationSpan]:
        """Recorded spans of ``meter_id`` at ``site`` that may overlap ``[start_us,
        end_us)``: every one that does (possibly some that do not), in start order."""
        ...

    # -- updates (called only after every rule for the entry has passed) ------
    def add_footprint(self, facts: FootprintFacts) -> None: ...
    def deprecate_footprint(self, footprint_id: str, seq: int) -> None: ...
    def add_factor_set(
        self, set_id: str, version: str, seq: int, factors: list[FactorFacts]
    ) -> None: ...
    def add_retirement(
        self, span: SerialSpan, seq: int, org_id: str, beneficiaries: tuple[str, ...] = ()
    ) -> None:
        """Record a retirement and the footprints it names as beneficiary."""
        ...

    def add_attestation(self, entry_id: str, footprint_id: str, seq: int, org_id: str) -> None: ...
    def add_grant(self, facts: GrantFacts) -> None: ...
    def revoke_grant(self, entry_id: str, seq: int) -> None: ...
    def add_activity_batch(self, entry_id: str, org_id: str, seq: int) -> None: ...
    def add_target(self, entry_id: str, seq: int, buyer: str, supplier: str) -> None: ...
    def add_site(self, site: str, org_id: str, seq: int) -> None: ...
    def add_site_input(self, site: str, facts: SiteInput) -> None: ...
    def add_site_record(self, entry: Entry, seq: int, leaf_hash: bytes) -> None:
        """Keep ``entry`` (which site rows name) for ``site_record``, where the view does
        not read the log itself."""
        ...

    def add_generation_spans(
        self, site: str, seq: int, spans: tuple[GenerationSpan, ...]
    ) -> None: ...
