"""A site's zero-carbon evaluation from what a real ledger recorded (issue 19, parts
2 to 4), on SQLite and PostgreSQL.

The inputs are gathered through the sequencer's site rows (``store_reader``) and,
for the audit's replay, through the in-memory view the same rules fill: both reach
the same evaluation. A verifier's rating is current while the inputs stand, and is
shown invalidated, with why, once the supplier restates the year's inventory.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ledger.entries import parse_entry
from ledger.rules import MemoryCarbonView, apply_entry
from ledger.rules.identity import IdentityState
from ledger.zero_carbon import (
    RecordedEntry,
    SiteReader,
    UnknownSiteError,
    attestation_status,
    evaluate_site,
    result_digest,
    site_attestations,
)
from ledger.zero_carbon.store import store_reader
from tests import carbon_builders as cb
from tests import site_builders as sb
from tests.chain_fixture import RECYCLER, VERIFIER, Chain, chain
from tests.test_site_rules import PLANT, _rating

__all__ = ["chain"]  # the fixture, imported for pytest


def _record_site_year(chain: Chain) -> None:
    chain.submit(chain.recycler, sb.site_enroll(RECYCLER, PLANT))
    chain.submit(chain.recycler, sb.site_inventory(RECYCLER, PLANT, 2023, scope1TCO2e="150"))
    # 2024: 100 t scope 1, 200 t scope 2 (location) over 400 MWh, of which 400 MWh are
    # claimed renewable; 50 MWh are metered on site, 100 MWh of certificates retired.
    inventory = sb.site_inventory(RECYCLER, PLANT, 2024, renewableElectricityMWh="400")
    chain.submit(chain.recycler, inventory)
    chain.submit(chain.recycler, sb.generation_batch(RECYCLER, PLANT, "50000"))
    chain.submit(
        chain.recycler,
        sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000100"),
    )
    # 20 MWh of the plant's own generation were certified and retired elsewhere... by
    # the recycler itself for its plant: counted once, as certificates.
    chain.submit(
        chain.recycler,
        sb.site_retirement(RECYCLER, PLANT, "GEC-2025-000001", "GEC-2025-000020", generator=PLANT),
    )


def _memory_reader(chain: Chain) -> SiteReader:
    """The audit's way: replay the log into the in-memory view, records kept by seq."""
    view, identity = MemoryCarbonView(), IdentityState()
    records: dict[int, RecordedEntry] = {}
    for seq in range(chain.server.store.tree_size()):
        stored = chain.server.store.record(seq)
        assert stored is not None
        entry = parse_entry(json.loads(stored.entry))
        records[seq] = RecordedEntry(entry, seq, stored.leaf_hash)
        apply_entry(entry, seq, stored.leaf_hash, identity, view)
    return SiteReader(view, records.__getitem__)


def test_the_evaluation_reads_the_site_year_from_the_ledger(chain: Chain) -> None:
    _record_site_year(chain)
    with chain.server.store.db.read() as conn:
        result = evaluate_site(store_reader(conn), PLANT, 2024)
        with pytest.raises(UnknownSiteError):
            evaluate_site(store_reader(conn), sb.site_urn("nowhere"), 2024)
    assert result == evaluate_site(_memory_reader(chain), PLANT, 2024)
    assert (result.generation_mwh, result.generation_counted_mwh) == (Decimal(50), Decimal(30))
    assert result.certificates_mwh == Decimal(120)
    assert result.renewable_backed_mwh == Decimal(150)
    assert result.unbacked_claim_mwh == Decimal(250)
    assert {f.code for f in result.flags} == {
        "unbacked-renewable-claim",
        "generation-also-certified",
    }
    # Market-based scope 2 derived: 200 t x 250/400 unbacked MWh.
    assert (result.scope2_market, result.scope2_market_derived) == (Decimal(125), True)
    assert [(c.against, c.absolute_fell) for c in result.comparisons] == [("previous", True)]
    # Two inventories, the batch, two retirements (one both for and generated at the site).
    assert result.level == "none" and len(result.inputs) == 5


def test_a_rating_is_invalidated_by_a_restated_inventory(chain: Chain) -> None:
    _record_site_year(chain)
    chain.submit(chain.recycler, cb.inventory_grant(RECYCLER, VERIFIER))
    with chain.server.store.db.read() as conn:
        before = evaluate_site(store_reader(conn), PLANT, 2024)
    rating = _rating(VERIFIER, PLANT, before.input_ids)
    rating["resultDigest"] = result_digest(before)
    chain.submit(chain.verifier, rating)
    with chain.server.store.db.read() as conn:
        reader = store_reader(conn)
        (recorded,) = site_attestations(reader, PLANT, 2024)
        assert attestation_status(recorded, evaluate_site(reader, PLANT, 2024)).current
    restated = sb.site_inventory(RECYCLER, PLANT, 2024, scope1TCO2e="90")
    chain.submit(chain.recycler, restated)
    with chain.server.store.db.read() as conn:
        reader = store_reader(conn)
        status = attestation_status(recorded, evaluate_site(reader, PLANT, 2024))
    assert not status.current
    assert f"entry {restated['entryId']}" in " ".join(status.reasons)
    assert any("no longer an input" in reason for reason in status.reasons)
