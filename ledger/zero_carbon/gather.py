"""Gathering a site-year's inputs from the ledger's site rows, and ``evaluate_site``.

The rows (``ledger.rules.view.SiteInput``, written by the sequencer in the append
transaction and rebuilt by the audit's replay) name the records by seq per (site,
year); ``SiteReader`` reads them through any ``CarbonView`` (the SQL one over the
store, the in-memory one of the audit) and fetches just those records. Nothing scans
the log: one probe of the site rows for the year and the previous year, one for the
base year when it is another, and one fetch per record used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.entries import Entry
from ledger.entries.carbon.activity import ActivityBatch
from ledger.entries.carbon.instruments import InstrumentRetire
from ledger.entries.carbon.sites import SiteAttestation
from ledger.entries.carbon.targets import Inventory
from ledger.zero_carbon.evaluate import Evaluation, evaluate
from ledger.zero_carbon.inputs import (
    GenerationInput,
    InputRef,
    InventoryInput,
    RetirementInput,
    SiteYearInputs,
    from_generation,
    from_inventory,
    from_retirement,
)

if TYPE_CHECKING:  # the rules import this module: no import of them at run time
    from ledger.rules.view import CarbonView, SiteInput


@dataclass(frozen=True, slots=True)
class RecordedEntry:
    """A recorded entry (the full model, readings included) and where it is in the log."""

    entry: Entry
    seq: int
    leaf_hash: bytes

    @property
    def ref(self) -> InputRef:
        return InputRef(self.entry.entryId, self.seq, self.leaf_hash)


class UnknownSiteError(LookupError):
    """The site is not enrolled (in the reader's snapshot)."""


@dataclass(frozen=True, slots=True)
class SiteReader:
    """Where a site's rows and records come from: ``view`` answers the site rows,
    ``record`` returns the entry recorded at a seq. ``below``, when given, is the log
    size of the reader's snapshot: rows at or after it are not seen."""

    view: CarbonView
    record: Callable[[int], RecordedEntry]
    below: int | None = None

    def rows(self, site: str, years: Iterable[int]) -> list[SiteInput]:
        found = self.view.site_inputs(site, tuple(years))
        return [row for row in found if self.below is None or row.seq < self.below]

    def owner(self, site: str) -> str | None:
        return self.view.site_owner(site)


def gather(reader: SiteReader, site: str, year: int) -> SiteYearInputs:
    """The inputs of ``site``'s evaluation for ``year``. Raises ``UnknownSiteError``."""
    if reader.owner(site) is None:
        raise UnknownSiteError(site)
    rows = reader.rows(site, (year, year - 1))
    inventories = _latest_inventories(reader, rows)
    inventory = inventories.get(year)
    base = None
    if inventory is not None and inventory.base_year is not None:
        base_year = inventory.base_year
        if base_year not in inventories:
            inventories.update(_latest_inventories(reader, reader.rows(site, (base_year,))))
        base = inventories.get(base_year)
    retirements: list[RetirementInput] = []
    generated: list[RetirementInput] = []
    generation: list[GenerationInput] = []
    for row in rows:
        if row.year != year or row.kind in ("inventory", "attestation"):
            continue
        recorded = reader.record(row.seq)
        entry = recorded.entry
        if row.kind == "generation" and isinstance(entry, ActivityBatch):
            generation.append(from_generation(entry, recorded.ref, year))
        elif isinstance(entry, InstrumentRetire):
            target = retirements if row.kind == "retirement" else generated
            target.append(from_retirement(entry, recorded.ref))
    return SiteYearInputs(
        site=site,
        year=year,
        inventory=inventory,
        previous=inventories.get(year - 1),
        base=base,
        retirements=tuple(retirements),
        generation=tuple(generation),
        generated_certificates=tuple(generated),
    )


def evaluate_site(reader: SiteReader, site: str, year: int) -> Evaluation:
    """The zero-carbon evaluation of ``site`` for ``year`` from the ledger.
    Raises ``UnknownSiteError`` when the site is not enrolled."""
    return evaluate(gather(reader, site, year))


def site_attestations(reader: SiteReader, site: str, year: int) -> list[SiteAttestation]:
    """The ``site.attestation``s rating ``site`` for ``year``, in log order."""
    found = []
    for row in reader.rows(site, (year,)):
        if row.kind == "attestation":
            entry = reader.record(row.seq).entry
            if isinstance(entry, SiteAttestation):
                found.append(entry)
    return found


def _latest_inventories(reader: SiteReader, rows: list[SiteInput]) -> dict[int, InventoryInput]:
    """The current inventory per year among ``rows``: the latest recorded (rows are in
    log order), as a restated organisation inventory replaces an earlier one."""
    latest: dict[int, int] = {}
    for row in rows:
        if row.kind == "inventory":
            latest[row.year] = row.seq
    out = {}
    for year, seq in latest.items():
        recorded = reader.record(seq)
        if isinstance(recorded.entry, Inventory):
            out[year] = from_inventory(recorded.entry, recorded.ref)
    return out
