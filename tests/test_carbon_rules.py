"""Carbon-data rules through a real ledger: every rejection names its field and writes nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, collector_key_entry, new_entry
from ledger.keys import new_private_key
from tests import carbon_builders as cb
from tests.chain_fixture import (
    BUYER,
    CATHODE,
    LI2CO3,
    RECYCLER,
    REFINER,
    VERIFIER,
    Chain,
    chain,
    rejected,
)

__all__ = ["chain"]  # the fixture, imported for pytest


def test_recycling_loop_records_and_supersedes(chain: Chain) -> None:
    # A loop across orgs closes with each owner's consent: the recycler's first batch, the
    # refiner's cathode citing the product under the recycler's product-line grant, then a
    # batch citing the cathode under the refiner's grant.
    chain.submit(chain.recycler, cb.footprint_entry(RECYCLER, LI2CO3, batch="2025-03-B018"))
    chain.submit(chain.recycler, cb.grant(RECYCLER, REFINER, product_id=LI2CO3))
    cathode = cb.footprint_entry(
        REFINER,
        CATHODE,
        inputs=[
            {"productId": LI2CO3, "companyId": RECYCLER, "amount": "0.25", "unit": "kilogram"},
            cb.grid_electricity("12.5"),
        ],
        pcf="14.2",
    )
    chain.submit(chain.refiner, cathode)
    chain.submit(
        chain.refiner, cb.grant(REFINER, RECYCLER, footprint_id=cathode["footprint"]["id"])
    )
    batch = cb.footprint_entry(
        RECYCLER,
        LI2CO3,
        batch="2025-03-B017",
        inputs=[
            {"footprintId": cathode["footprint"]["id"], "amount": "0.01", "unit": "gram"},
            cb.grid_electricity("3.0"),
        ],
    )
    chain.submit(chain.recycler, batch)
    # A restatement supersedes the first batch footprint.
    restated = cb.footprint_entry(
        RECYCLER, LI2CO3, batch="2025-03-B017", preceding=[batch["footprint"]["id"]], pcf="3.05"
    )
    chain.submit(chain.recycler, restated)
    with chain.server.db.read() as conn:
        from ledger.store.carbon_index import SqlCarbonView

        view = SqlCarbonView(conn)
        old = view.footprint(batch["footprint"]["id"])
        new = view.active_footprint(RECYCLER, LI2CO3, RECYCLER, "2025-03-B017")
    assert old is not None and not old.active
    assert new is not None and new.footprint_id == restated["footprint"]["id"]


def test_footprint_rules(chain: Chain) -> None:
    first = cb.footprint_entry(RECYCLER, LI2CO3)
    chain.submit(chain.recycler, first)
    fid = first["footprint"]["id"]
    chain.submit(chain.recycler, cb.grant(RECYCLER, REFINER, footprint_id=fid))  # may cite it
    cases: list[tuple[OrgSigner, dict[str, Any], grpc.StatusCode, str, str]] = [
        # a second active footprint for the same product, company and batch
        (
            chain.recycler,
            cb.footprint_entry(RECYCLER, LI2CO3),
            grpc.StatusCode.ALREADY_EXISTS,
            "footprint.productIds[0]",
            "precedingPfIds",
        ),
        # immutability: the same footprint id again
        (
            chain.recycler,
            {
                **cb.footprint_entry(RECYCLER, "urn:pact:product:recycler:al"),
                "footprint": {**first["footprint"]},
            },
            grpc.StatusCode.ALREADY_EXISTS,
            "footprint.id",
            "immutable",
        ),
        # another org's company (company ids are bound to orgs by the operator)
        (
            chain.refiner,
            {**cb.footprint_entry(RECYCLER, "urn:pact:product:recycler:cu"), "org": REFINER},
            grpc.StatusCode.PERMISSION_DENIED,
            "footprint.companyIds[0]",
            "not one of",
        ),
        # superseding someone else's footprint
        (
            chain.refiner,
            cb.footprint_entry(REFINER, CATHODE, preceding=[fid]),
            grpc.StatusCode.FAILED_PRECONDITION,
            "footprint.precedingPfIds[0]",
            f"no footprint {fid} of {REFINER}",
        ),
        # an input unit that cannot convert to the recorded footprint's unit
        (
            chain.refiner,
            cb.footprint_entry(
                REFINER,
                CATHODE,
                inputs=[{"footprintId": fid, "amount": "2", "unit": "kilowatt hour"}],
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "composition.inputs[0].unit",
            "the declared unit of the footprint this input cites",
        ),
        # an unpublished factor
        (
            chain.refiner,
            cb.footprint_entry(
                REFINER,
                CATHODE,
                inputs=[
                    {
                        "factor": {"setId": "cn-default", "version": "2099.1", "key": "x"},
                        "amount": "1",
                        "unit": "kilowatt hour",
                    }
                ],
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "composition.inputs[0].factor",
            "not published",
        ),
        # a factor unit mismatch
        (
            chain.refiner,
            cb.footprint_entry(
                REFINER, CATHODE, inputs=[{**cb.grid_electricity("1"), "unit": "kilogram"}]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "composition.inputs[0].unit",
            "kilowatt hour",
        ),
        # deprecating a footprint one does not own
        (
            chain.refiner,
            new_entry("footprint.deprecate", REFINER, footprintId=fid, reason="x"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "footprintId",
            f"no footprint {fid} of {REFINER}",
        ),
        # a buyer cannot declare footprints at all
        (
            chain.buyer,
            {**cb.footprint_entry(BUYER, "urn:pact:product:b:x")},
            grpc.StatusCode.PERMISSION_DENIED,
            "type",
            "supplier",
        ),
    ]
    for signer, entry, code, field, text in cases:
        error = rejected(chain, signer, entry)
        assert error.code == code, (field, error.message)
        assert error.message.startswith(f"{field}:") or f"{field}:" in error.message, error.message
        assert text in error.message, error.message

    chain.submit(
        chain.recycler,
        new_entry("footprint.deprecate", RECYCLER, footprintId=fid, reason="plant closed"),
    )
    again = rejected(
        chain,
        chain.recycler,
        new_entry("footprint.deprecate", RECYCLER, footprintId=fid, reason="x"),
    )
    assert "already deprecated" in again.message
    # With the old one deprecated, a new footprint for the product is accepted.
    chain.submit(chain.recycler, cb.footprint_entry(RECYCLER, LI2CO3))


def test_factor_set_versions_are_immutable(chain: Chain) -> None:
    error = rejected(chain, chain.operator, cb.default_factor_set(chain.operator.org))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert "version" in error.message and "immutable" in error.message
    denied = rejected(chain, chain.recycler, cb.default_factor_set(RECYCLER))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_serial_is_retired_once_in_the_whole_log(chain: Chain) -> None:
    chain.submit(
        chain.recycler, cb.retirement(RECYCLER, "gec-cn", "GEC-2024-000101", "GEC-2024-000150")
    )
    error = rejected(
        chain,
        chain.recycler,
        cb.retirement(RECYCLER, "gec-cn", "GEC-2024-000150", "GEC-2024-000160"),
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    # The earlier retirement may be another org's (an account moves): no seq is named.
    assert "overlap" in error.message and "serials:" in error.message
    assert "seq" not in error.message
    # Adjacent ranges, other registries and other prefixes do not overlap.
    chain.submit(
        chain.recycler, cb.retirement(RECYCLER, "gec-cn", "GEC-2024-000151", "GEC-2024-000160")
    )
    chain.submit(
        chain.recycler, cb.retirement(RECYCLER, "i-rec", "GEC-2024-000101", "GEC-2024-000110")
    )
    chain.submit(
        chain.recycler, cb.retirement(RECYCLER, "gec-cn", "GEC-2025-000101", "GEC-2025-000110")
    )


def test_attestations_and_grants(chain: Chain) -> None:
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    chain.submit(chain.recycler, fp)
    # A verifier attests only what the owner lets it read in detail; without that grant
    # the refusal is the one for a footprint that does not exist (no oracle).
    ungranted = rejected(chain, chain.verifier, cb.attestation(VERIFIER, fp["entryId"]))
    summary = cb.grant(RECYCLER, VERIFIER, footprint_id=fp["footprint"]["id"], level="summary")
    chain.submit(chain.recycler, summary)
    at_summary = rejected(chain, chain.verifier, cb.attestation(VERIFIER, fp["entryId"]))
    missing_id = str(__import__("uuid").uuid4())
    missing = rejected(chain, chain.verifier, cb.attestation(VERIFIER, missing_id))
    assert missing.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "footprintEntryId" in missing.message
    assert ungranted.code == at_summary.code == missing.code
    assert ungranted.message == at_summary.message == missing.message
    detail = cb.grant(RECYCLER, VERIFIER, footprint_id=fp["footprint"]["id"], level="detail")
    chain.submit(chain.recycler, detail)
    chain.submit(chain.verifier, cb.attestation(VERIFIER, fp["entryId"]))
    not_verifier = rejected(chain, chain.refiner, cb.attestation(REFINER, fp["entryId"]))
    assert (
        not_verifier.code == grpc.StatusCode.PERMISSION_DENIED
        and "verifier" in not_verifier.message
    )

    fid = fp["footprint"]["id"]
    granted = cb.grant(RECYCLER, BUYER, footprint_id=fid, level="detail")
    chain.submit(chain.recycler, granted)
    by_non_owner = rejected(chain, chain.refiner, cb.grant(REFINER, BUYER, footprint_id=fid))
    assert by_non_owner.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "only the owner grants" in by_non_owner.message and RECYCLER not in by_non_owner.message
    line = rejected(chain, chain.refiner, cb.grant(REFINER, BUYER, product_id=LI2CO3))
    assert line.code == grpc.StatusCode.PERMISSION_DENIED and "productId" in line.message
    chain.submit(chain.recycler, cb.grant(RECYCLER, BUYER, product_id=LI2CO3))
    # A grant to an org not enrolled (yet) is recorded: refusing it would tell the
    # grantor who is enrolled; it opens nothing until that org exists.
    chain.submit(
        chain.recycler, cb.grant(RECYCLER, "urn:pact:company:customcode:nobody", footprint_id=fid)
    )

    revoke = new_entry("grant.revoke", RECYCLER, grantId=granted["entryId"])
    foreign = rejected(chain, chain.refiner, {**revoke, "org": REFINER})
    assert foreign.code == grpc.StatusCode.FAILED_PRECONDITION and "grantId" in foreign.message
    chain.submit(chain.recycler, revoke)
    twice = rejected(
        chain, chain.recycler, new_entry("grant.revoke", RECYCLER, grantId=granted["entryId"])
    )
    assert "already revoked" in twice.message


def test_collector_keys_sign_activity_batches_only(chain: Chain) -> None:
    collector = OrgSigner(RECYCLER, new_private_key())
    chain.submit(chain.recycler, collector_key_entry(RECYCLER, collector.public_key))
    readings = [
        {
            "meterId": f"m-{i}",
            "stage": "pretreatment",
            "intervalStart": "2025-03-01T00:00:00Z",
            "intervalEnd": "2025-03-01T00:15:00Z",
            "quantity": "12.5",
            "unit": "kWh",
            "quality": "measured",
        }
        for i in range(1000)
    ]
    batch = new_entry(
        "activity.batch", RECYCLER, site="plant-1", collectorId="edge-7", readings=readings
    )
    chain.submit(collector, batch)
    error = rejected(chain, collector, cb.footprint_entry(RECYCLER, LI2CO3))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED and "collector key" in error.message
    # A footprint may cite the batch it was computed from.
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    fp["composition"]["ownEmissions"][0]["activityBatches"] = [batch["entryId"]]
    chain.submit(chain.recycler, fp)
    fp2 = cb.footprint_entry(REFINER, CATHODE)
    fp2["composition"]["ownEmissions"][0]["activityBatches"] = [batch["entryId"]]
    foreign = rejected(chain, chain.refiner, fp2)
    assert "activityBatches[0]" in foreign.message


def test_entries_read_back_per_grant(chain: Chain) -> None:
    fp = cb.footprint_entry(RECYCLER, LI2CO3)
    receipt = chain.submit(chain.recycler, fp)
    target = chain.server.grpc_target
    with LedgerClient(target, signer=chain.buyer) as as_buyer:
        with pytest.raises(grpc.RpcError) as err:
            as_buyer.get_entry(seq=receipt.seq)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        chain.submit(chain.recycler, cb.grant(RECYCLER, BUYER, footprint_id=fp["footprint"]["id"]))
        with pytest.raises(grpc.RpcError):  # a summary grant does not open the composition
            as_buyer.get_entry(seq=receipt.seq)
        detail = cb.grant(RECYCLER, BUYER, product_id=LI2CO3, level="detail")
        chain.submit(chain.recycler, detail)
        assert as_buyer.get_entry(seq=receipt.seq).entry == chain.recycler.sign(fp).entry
        chain.submit(chain.recycler, new_entry("grant.revoke", RECYCLER, grantId=detail["entryId"]))
        with pytest.raises(grpc.RpcError):
            as_buyer.get_entry(seq=receipt.seq)
    with LedgerClient(target, signer=chain.recycler) as as_owner:
        assert as_owner.get_entry(entry_id=fp["entryId"]).seq == receipt.seq


def test_memory_and_sql_views_name_the_same_overlapping_retirement(chain: Chain) -> None:
    """The auditor's in-memory view and the sequencer's SQL view must agree."""
    from ledger.rules import MemoryCarbonView, SerialSpan
    from ledger.store.carbon_index import SqlCarbonView

    memory = MemoryCarbonView()
    ranges = [("000101", "000150", 7), ("000151", "000160", 9), ("000300", "000400", 11)]
    for first, last, seq in ranges:
        memory.add_retirement(SerialSpan("gec", "GEC-", 6, first, last), seq, RECYCLER)
    probes = [
        ("000090", "000100"),
        ("000090", "000101"),
        ("000155", "000155"),
        ("000161", "000299"),
        ("000140", "000320"),
        ("000401", "000500"),
    ]
    with chain.server.db.write() as conn:
        sql = SqlCarbonView(conn)
        for first, last, seq in ranges:
            sql.add_retirement(SerialSpan("gec", "GEC-", 6, first, last), seq, RECYCLER)
        answers = [
            (memory.overlapping_retirement(span), sql.overlapping_retirement(span))
            for span in (SerialSpan("gec", "GEC-", 6, f, la) for f, la in probes)
        ]
        conn.rollback()
    assert answers == [(None, None), (7, 7), (9, 9), (None, None), (11, 11), (None, None)]
