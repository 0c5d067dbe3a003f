"""Sites of the zero-carbon factory programme on a real ledger (issue 19, part 1).

Through a real gRPC server on SQLite and PostgreSQL: a site URN is enrolled once, by
the org that then owns it; only the owner records inventories, generation readings
and retirements for it; a serial counts for one site-period only, across suppliers;
a site is rated by a verifier other than its owner, under the owner's inventory
grant. Each refusal writes nothing and names the field; an audit of what the
attempts left reaches the same decisions from memory.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc

from clients.sdk import new_entry
from ledger.zero_carbon import evaluate_site, result_digest
from ledger.zero_carbon.store import store_reader
from tests import carbon_builders as cb
from tests import site_builders as sb
from tests.chain_fixture import ISSUED, RECYCLER, REFINER, VERIFIER, Chain, chain, rejected
from tests.ledger_fixtures import enroll
from tests.test_authority_rules import _audit_agrees

__all__ = ["chain"]  # the fixture, imported for pytest

PLANT = sb.site_urn("recycler:ganzhou")
REFINERY = sb.site_urn("refiner:yichun")


def _enrol_both(chain: Chain) -> None:
    chain.submit(chain.recycler, sb.site_enroll(RECYCLER, PLANT))
    chain.submit(chain.refiner, sb.site_enroll(REFINER, REFINERY))


def test_a_site_urn_is_enrolled_once_whoever_tries_again(chain: Chain) -> None:
    _enrol_both(chain)
    squat = rejected(chain, chain.refiner, sb.site_enroll(REFINER, PLANT))
    assert squat.code == grpc.StatusCode.ALREADY_EXISTS
    assert squat.message.startswith("site: ") and "already enrolled" in squat.message
    assert RECYCLER not in squat.message  # the holder is not named
    again = rejected(chain, chain.recycler, sb.site_enroll(RECYCLER, PLANT))
    assert (again.code, again.message) == (squat.code, squat.message)
    # Only orgs with factories (suppliers) enrol sites.
    buyer_site = rejected(chain, chain.buyer, sb.site_enroll(chain.buyer.org, sb.site_urn("b")))
    assert buyer_site.code == grpc.StatusCode.PERMISSION_DENIED
    _audit_agrees(chain)


def test_only_the_owner_records_for_its_site(chain: Chain) -> None:
    _enrol_both(chain)
    nowhere = sb.site_urn("refiner:nowhere")
    attempts = {
        "inventory": lambda site: sb.site_inventory(REFINER, site, 2024),
        "generation": lambda site: sb.generation_batch(REFINER, site, "5000"),
        "retirement": lambda site: sb.site_retirement(
            REFINER, site, "GEC-2024-000500", "GEC-2024-000509"
        ),
    }
    for kind, build in attempts.items():
        theirs = rejected(chain, chain.refiner, build(PLANT))
        unknown = rejected(chain, chain.refiner, build(nowhere))
        field = "beneficiary.site" if kind == "retirement" else "site"
        assert theirs.code == grpc.StatusCode.FAILED_PRECONDITION, kind
        assert theirs.message.startswith(f"{field}: no site {PLANT} of {REFINER}"), kind
        assert RECYCLER not in theirs.message
        # No oracle: another org's site and one nobody enrolled read alike.
        assert theirs.message.replace(PLANT, "<s>") == unknown.message.replace(nowhere, "<s>")
        # The refiner's own site takes the same entry.
        chain.submit(chain.refiner, build(REFINERY))
    # Organisation-level inventories and free-text activity labels stay valid.
    label = sb.generation_batch(REFINER, REFINERY, "1")
    label.update(site="Refinery, line 2")
    label["readings"][0]["stage"] = "utilities"
    chain.submit(chain.refiner, label)
    org_level = new_entry(
        "inventory",
        REFINER,
        reportingYear=2024,
        scope1TCO2e="1",
        scope2TCO2e="2",
        electricityMWh="3",
        renewableElectricityMWh="0",
    )
    chain.submit(chain.refiner, org_level)
    _audit_agrees(chain)


def test_a_buyer_does_not_retire_for_its_suppliers_site(chain: Chain) -> None:
    """A buyer's certificates count for a supplier's site only once the supplier holds
    and retires them: otherwise any org could change (and invalidate) a site's rating."""
    _enrol_both(chain)
    entry = sb.site_retirement(chain.buyer.org, PLANT, "GEC-2024-001000", "GEC-2024-001009")
    entry["beneficiary"]["org"] = RECYCLER
    refused = rejected(chain, chain.buyer, entry)
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.message.startswith("beneficiary.org: ")


def test_a_certificate_counts_for_one_site_period_across_suppliers(chain: Chain) -> None:
    """The recycler retires serials for its plant; the operator later moves the account
    (and its serials) to the refiner, who tries to claim them again for its refinery."""
    _enrol_both(chain)
    first, last = "GEC-2024-000001", "GEC-2024-000050"
    chain.submit(chain.recycler, sb.site_retirement(RECYCLER, PLANT, first, last))
    moved = cb.account_of(RECYCLER)
    chain.submit(
        chain.operator,
        cb.registry_account(chain.operator.org, "gec-cn", REFINER, moved, ISSUED[RECYCLER]),
    )
    twice = rejected(
        chain, chain.refiner, sb.site_retirement(REFINER, REFINERY, first, last, account=moved)
    )
    assert twice.code == grpc.StatusCode.ALREADY_EXISTS
    assert twice.message.startswith("serials: ") and RECYCLER not in twice.message
    # Nor partly, for another year.
    partly = sb.site_retirement(
        REFINER, REFINERY, "GEC-2024-000040", "GEC-2024-000060", year=2025, account=moved
    )
    again = rejected(chain, chain.refiner, partly)
    assert again.code == grpc.StatusCode.ALREADY_EXISTS
    _audit_agrees(chain)


def test_a_site_is_rated_by_another_org_under_the_owners_inventory_grant(chain: Chain) -> None:
    _enrol_both(chain)
    inventory = chain.submit(chain.recycler, sb.site_inventory(RECYCLER, PLANT, 2024))
    rating = _rating(VERIFIER, PLANT, [inventory.entry_id])
    unread = rejected(chain, chain.verifier, rating)
    assert unread.code == grpc.StatusCode.FAILED_PRECONDITION
    assert unread.message.startswith("site: ")
    nowhere = sb.site_urn("nowhere")
    missing = rejected(chain, chain.verifier, _rating(VERIFIER, nowhere, [inventory.entry_id]))
    assert missing.message.replace(nowhere, "<s>") == unread.message.replace(PLANT, "<s>")
    chain.submit(chain.recycler, cb.inventory_grant(RECYCLER, VERIFIER))
    chain.submit(chain.verifier, _true_rating(chain, VERIFIER, PLANT))
    # An org holding supplier and verifier roles does not rate its own site.
    both = "urn:pact:company:customcode:self-rater"
    self_rater = enroll(chain.client, chain.operator, both, "supplier", "verifier")
    own = sb.site_urn("self-rater:plant")
    chain.submit(self_rater, sb.site_enroll(both, own))
    mine = rejected(chain, self_rater, _rating(both, own, [inventory.entry_id]))
    assert mine.code == grpc.StatusCode.PERMISSION_DENIED
    assert mine.message.startswith("site: ")
    _audit_agrees(chain)


def test_a_rating_states_the_evaluation_from_the_log(chain: Chain) -> None:
    """Red team F3 (b): an org holding buyer and verifier roles, with an ordinary
    inventory grant, recorded a junk rating (bogus inputs and digest) that showed the
    supplier's site as "certification invalidated" for good."""
    _enrol_both(chain)
    inventory = chain.submit(chain.recycler, sb.site_inventory(RECYCLER, PLANT, 2024))
    chain.submit(chain.recycler, sb.generation_batch(RECYCLER, PLANT, "100000"))
    both = "urn:pact:company:customcode:buyer-verifier"
    rater = enroll(chain.client, chain.operator, both, "buyer", "verifier")
    chain.submit(chain.recycler, cb.inventory_grant(RECYCLER, both))
    true = _true_rating(chain, both, PLANT)
    junk = {
        "inputs": (_rating(both, PLANT, [inventory.entry_id]), "inputs: "),
        "digest": ({**true, "resultDigest": "0" * 64}, "resultDigest: "),
        "level": ({**true, "level": "six-star"}, "level: "),
    }
    for what, (entry, field) in junk.items():
        refused = rejected(chain, rater, {**entry, "entryId": str(uuid.uuid4())})
        assert refused.code == grpc.StatusCode.FAILED_PRECONDITION, what
        assert refused.message.startswith(field + "the rating differs from the evaluation"), (
            refused.message
        )
    assert "is an input it did not rate" in rejected(chain, rater, junk["inputs"][0]).message
    chain.submit(rater, true)
    # Once an input changes, the earlier evaluation is no longer what the log gives.
    chain.submit(chain.recycler, sb.site_inventory(RECYCLER, PLANT, 2024, scope1TCO2e="90"))
    stale = rejected(chain, rater, {**true, "entryId": str(uuid.uuid4())})
    assert stale.message.startswith("inputs: ")
    chain.submit(rater, _true_rating(chain, both, PLANT))
    _audit_agrees(chain)


def test_site_entries_refused_statelessly_name_the_field(chain: Chain) -> None:
    _enrol_both(chain)
    no_period = sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000002")
    del no_period["beneficiary"]["reportingPeriod"]
    two_years = sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000002")
    two_years["beneficiary"]["reportingPeriod"]["end"] = "2025-01-02T00:00:00+08:00"
    bad_sum = sb.site_inventory(
        RECYCLER, PLANT, 2024, scope3TCO2e="10", scope3Categories=[{"category": 1, "tCO2e": "9"}]
    )
    unordered = _rating(VERIFIER, PLANT, sorted(["a" * 8 + "-0000-4000-8000-" + "0" * 12] * 2))
    cases = [
        (chain.recycler, no_period, "beneficiary.reportingPeriod: "),
        (chain.recycler, two_years, "beneficiary.reportingPeriod.end: "),
        (chain.recycler, bad_sum, "scope3TCO2e: "),
        (chain.recycler, sb.site_inventory(RECYCLER, PLANT, 2024, baseYear=2024), "baseYear: "),
        (chain.verifier, unordered, "inputs[1]: "),
    ]
    for signer, entry, field in cases:
        refused = rejected(chain, signer, entry)
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT, field
        assert refused.message.startswith(field), (field, refused.message)


def _rating(verifier: str, site: str, inputs: list[str]) -> dict[str, object]:
    return new_entry(
        "site.attestation",
        verifier,
        site=site,
        year=2024,
        level="none",
        factoryType="I",
        inputs=sorted(inputs),
        resultDigest="0" * 64,
    )


def test_a_generation_reading_is_recorded_once_across_batches(chain: Chain) -> None:
    """Red team F1: the same reading in a second batch would count its MWh twice."""
    _enrol_both(chain)
    chain.submit(chain.recycler, sb.generation_batch(RECYCLER, PLANT, "500000"))
    again = rejected(chain, chain.recycler, sb.generation_batch(RECYCLER, PLANT, "500000"))
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION
    assert again.message.startswith(
        f"readings: meter pv-1 already has generation recorded at "
        f"site {PLANT} over 2024-05-31T16:00:00Z..2024-06-30T16:00:00Z"
    )
    # Partly: two contiguous days, the second inside June, in another offset.
    partly = sb.generation_batch(RECYCLER, PLANT, "1")
    readings = partly["readings"]
    readings[0].update(intervalStart="2024-05-30T16:00:00Z", intervalEnd="2024-05-31T16:00:00Z")
    readings.append(
        {
            **readings[0],
            "intervalStart": "2024-05-31T16:00:00Z",
            "intervalEnd": "2024-06-01T16:00:00Z",
        }
    )
    overlap = rejected(chain, chain.recycler, partly)
    assert overlap.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "over 2024-05-31T16:00:00Z..2024-06-01T16:00:00Z" in overlap.message
    # The day before June, another meter over June, and July are new generation.
    del readings[1]
    chain.submit(chain.recycler, partly)
    other_meter = sb.generation_batch(RECYCLER, PLANT, "1")
    other_meter["readings"][0]["meterId"] = "pv-2"
    chain.submit(chain.recycler, other_meter)
    july = sb.generation_batch(RECYCLER, PLANT, "1")
    july["readings"][0].update(
        intervalStart="2024-07-01T00:00:00+08:00", intervalEnd="2024-08-01T00:00:00+08:00"
    )
    chain.submit(chain.recycler, july)
    # The same meter name at another site is another meter.
    chain.submit(chain.refiner, sb.generation_batch(REFINER, REFINERY, "500000"))
    _audit_agrees(chain)


def test_only_a_sites_owner_names_it_as_generator(chain: Chain) -> None:
    """Red team F2: certificates naming another org's site as their generator would lower
    the generation that site may count and invalidate its rating."""
    _enrol_both(chain)
    nowhere = sb.site_urn("nowhere")
    for build in (
        # Another supplier, retiring for its own site.
        lambda generator: sb.site_retirement(
            REFINER, REFINERY, "GEC-2024-000500", "GEC-2024-000509", generator=generator
        ),
        # Any org with a registry account, naming no site of its own.
        lambda generator: {
            **cb.retirement(REFINER, "gec-cn", "GEC-2024-000510", "GEC-2024-000511"),
            "generator": {"site": generator},
        },
    ):
        theirs = rejected(chain, chain.refiner, build(PLANT))
        unknown = rejected(chain, chain.refiner, build(nowhere))
        assert theirs.code == grpc.StatusCode.FAILED_PRECONDITION
        assert theirs.message.startswith(f"generator.site: no site {PLANT} of {REFINER}")
        assert RECYCLER not in theirs.message
        assert theirs.message.replace(PLANT, "<s>") == unknown.message.replace(nowhere, "<s>")
        # Its own site as generator is recorded.
        chain.submit(chain.refiner, build(REFINERY))
    _audit_agrees(chain)


def test_no_inventory_vintage_or_reporting_period_in_the_future(chain: Chain) -> None:
    """Red team F5: a supplier fabricating 2099 would be rated, and shown by default."""
    _enrol_both(chain)
    now = datetime.now(UTC)
    soon = (now + timedelta(days=2)).replace(microsecond=0)
    future_period = sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000002")
    future_period["beneficiary"]["reportingPeriod"] = {
        "start": soon.isoformat(),
        "end": (soon + timedelta(hours=1)).isoformat(),
    }
    future_vintage = sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000002")
    future_vintage["vintage"] = 2099
    cases = [
        (sb.site_inventory(RECYCLER, PLANT, 2099), "reportingYear: 2099 has not begun"),
        (
            new_entry(
                "inventory",
                RECYCLER,
                reportingYear=2099,
                scope1TCO2e="1",
                scope2TCO2e="2",
                electricityMWh="3",
                renewableElectricityMWh="0",
            ),
            "reportingYear: 2099 has not begun",
        ),
        (future_vintage, "vintage: vintage 2099 has not begun"),
        (future_period, "beneficiary.reportingPeriod.start: the period starts after"),
    ]
    for entry, message in cases:
        refused = rejected(chain, chain.recycler, entry)
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT, message
        assert refused.message.startswith(message), refused.message
    # This year's inventory and a period that has started are recorded.
    chain.submit(chain.recycler, sb.site_inventory(RECYCLER, PLANT, now.year))
    started = sb.site_retirement(RECYCLER, PLANT, "GEC-2024-000001", "GEC-2024-000002")
    started["beneficiary"]["reportingPeriod"] = {
        "start": f"{now.year}-01-01T00:00:00Z",
        "end": (now.replace(microsecond=0) + timedelta(seconds=1)).isoformat(),
    }
    chain.submit(chain.recycler, started)
    _audit_agrees(chain)


def _true_rating(chain: Chain, verifier: str, site: str) -> dict[str, object]:
    """``verifier``'s rating of ``site`` for 2024 as the ledger's store evaluates it now."""
    with chain.server.store.db.read() as conn:
        result = evaluate_site(store_reader(conn), site, 2024)
    return new_entry(
        "site.attestation",
        verifier,
        site=site,
        year=2024,
        level=result.level,
        factoryType=result.factory_type or "I",
        inputs=result.input_ids,
        resultDigest=result_digest(result),
    )
