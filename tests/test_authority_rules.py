"""Attacks on who may do what, through a real ledger (issue 13 findings 5, 6 and 8).

Each test plays the hostile org: a collector key that tries to read or to sign
what is not a reading, a retirement that lowers another org's footprint, an
org that is both supplier and verifier attesting its own footprint. Every
refusal names its field and writes nothing; an audit of the log the attacks
left behind agrees with the sequencer.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest

from clients.audit.model import Check
from clients.sdk import LedgerClient, OrgSigner, collector_key_entry, new_entry
from ledger.keys import encode_public_key, new_private_key
from tests import carbon_builders as cb
from tests.chain_fixture import LI2CO3, RECYCLER, REFINER, Chain, chain, rejected
from tests.ledger_fixtures import AUDITOR, enroll
from tests.test_audit_engine import genesis, replay
from tests.test_audit_mix import grpc_audit

__all__ = ["chain"]  # the fixture, imported for pytest

DUAL = "urn:pact:company:customcode:lab-and-plant"  # holds both supplier and verifier
DUAL_PRODUCT = "urn:pact:product:lab-and-plant:nickel-sulphate"


def _readings(count: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "meterId": f"m-{i}",
            "stage": "smelting",
            "intervalStart": "2025-03-01T00:00:00Z",
            "intervalEnd": "2025-03-01T00:15:00Z",
            "quantity": "12.5",
            "unit": "kWh",
            "quality": "measured",
        }
        for i in range(count)
    ]


def _batch(org: str) -> dict[str, Any]:
    return new_entry(
        "activity.batch", org, site="plant-1", collectorId="edge-7", readings=_readings()
    )


def _add_collector(chain: Chain, owner: OrgSigner) -> OrgSigner:
    collector = OrgSigner(owner.org, new_private_key())
    chain.submit(owner, collector_key_entry(owner.org, collector.public_key))
    return collector


def _read_errors(chain: Chain, reader: OrgSigner, seq: int) -> list[grpc.RpcError]:
    """The errors of a GetEntry and of a StreamEntries authenticated by ``reader``."""
    errors: list[grpc.RpcError] = []
    with LedgerClient(chain.server.grpc_target, reader) as client:
        with pytest.raises(grpc.RpcError) as one:
            client.get_entry(seq=seq)
        errors.append(one.value)
        with pytest.raises(grpc.RpcError) as many:
            list(client.stream_entries(0))
        errors.append(many.value)
    return errors


def _audit_agrees(chain: Chain) -> None:
    """An independent audit replays the same rules (``ledger.rules``) over the log."""
    auditor = enroll(chain.client, chain.operator, AUDITOR, "auditor")
    chain.server.checkpointer.refresh()
    report = grpc_audit(chain.server, auditor, None)
    assert report.ok, report.to_text()
    assert report.checkpoint_size == chain.server.store.tree_size()


# -- finding 5: collector keys sign readings only and never read ---------------


def test_a_collector_key_signs_readings_only_and_never_reads(chain: Chain) -> None:
    footprint = cb.footprint_entry(RECYCLER, LI2CO3)
    seq = chain.submit(chain.recycler, footprint).seq
    collector = _add_collector(chain, chain.recycler)
    # What the key is for still works.
    chain.submit(collector, _batch(RECYCLER))
    # Anything else it signs is refused, naming the key's purpose.
    refused = rejected(chain, collector, cb.footprint_entry(RECYCLER, "urn:pact:product:x:al"))
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.message.startswith("keyId: ") and "collector key" in refused.message
    # Its request tokens are valid signatures of an active key of the org, and still
    # authenticate no read: not one entry, not the stream of its org's entries.
    for error in _read_errors(chain, collector, seq):
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "collector key" in (error.details() or "")
        assert "never authenticates reads" in (error.details() or "")
    # The org's signing key reads its own footprint as before.
    with LedgerClient(chain.server.grpc_target, chain.recycler) as owner:
        assert owner.get_entry(seq=seq).seq == seq
    _audit_agrees(chain)


def test_revoking_the_signing_key_ends_the_orgs_collector_keys(chain: Chain) -> None:
    footprint = cb.footprint_entry(RECYCLER, LI2CO3)
    seq = chain.submit(chain.recycler, footprint).seq
    collector = _add_collector(chain, chain.recycler)
    # A routine rotation leaves the org's collectors working.
    rotated = OrgSigner(RECYCLER, new_private_key())
    chain.submit(
        chain.recycler,
        new_entry(
            "key.rotate",
            RECYCLER,
            orgId=RECYCLER,
            newPublicKey=encode_public_key(rotated.public_key),
        ),
    )
    chain.submit(collector, _batch(RECYCLER))
    # A revocation means the signing key may be in other hands, and those hands could
    # have added collectors: every collector key of the org ends with it.
    revoke = new_entry("key.revoke", chain.operator.org, orgId=RECYCLER, keyId=rotated.key_id.hex())
    chain.submit(chain.operator, revoke)
    ended = rejected(chain, collector, _batch(RECYCLER))
    assert ended.code == grpc.StatusCode.PERMISSION_DENIED and ended.message.startswith("keyId: ")
    assert "revoked with its org's signing key" in ended.message
    for error in _read_errors(chain, collector, seq):
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "unknown or ended key" in (error.details() or "")
    # After the operator's recovery rotation the org registers its collectors again.
    recovered = OrgSigner(RECYCLER, new_private_key())
    chain.submit(
        chain.operator,
        new_entry(
            "key.rotate",
            chain.operator.org,
            orgId=RECYCLER,
            newPublicKey=encode_public_key(recovered.public_key),
        ),
    )
    chain.submit(_add_collector(chain, recovered), _batch(RECYCLER))
    _audit_agrees(chain)


# -- finding 6 (first half): retirements benefit the retiring org only ---------


def _retire_for(org: str, first: str, last: str, *footprint_ids: str) -> dict[str, Any]:
    entry = cb.retirement(org, "gec-cn", first, last)
    entry["beneficiary"]["footprintIds"] = list(footprint_ids)
    return entry


def test_a_retirement_names_footprints_of_the_retiring_org_only(chain: Chain) -> None:
    theirs = cb.footprint_entry(RECYCLER, LI2CO3)
    chain.submit(chain.recycler, theirs)
    ours = cb.footprint_entry(REFINER, "urn:pact:product:refiner:lfp-cathode")
    chain.submit(chain.refiner, ours)
    their_id, missing_id = theirs["footprint"]["id"], str(uuid.uuid4())

    foreign = rejected(
        chain,
        chain.refiner,
        _retire_for(
            REFINER, "GEC-2024-000501", "GEC-2024-000510", ours["footprint"]["id"], their_id
        ),
    )
    assert foreign.code == grpc.StatusCode.FAILED_PRECONDITION
    assert foreign.message.startswith("beneficiary.footprintIds[1]: ")
    # No oracle: naming a footprint that does not exist reads exactly the same.
    missing = rejected(
        chain, chain.refiner, _retire_for(REFINER, "GEC-2024-000501", "GEC-2024-000510", missing_id)
    )
    assert missing.code == foreign.code
    assert missing.message.startswith("beneficiary.footprintIds[0]: ")
    assert _without(missing.message, missing_id, "[0]") == _without(
        foreign.message, their_id, "[1]"
    )
    assert RECYCLER not in foreign.message

    # The claim a retirement carries is the retiring org's own.
    claimed = _retire_for(REFINER, "GEC-2024-000501", "GEC-2024-000510", ours["footprint"]["id"])
    claimed["beneficiary"]["org"] = RECYCLER
    misnamed = rejected(chain, chain.refiner, claimed)
    assert misnamed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "beneficiary.org" in misnamed.message

    # Its own footprint, and the same serials the refused attempts named, are fine.
    chain.submit(
        chain.refiner,
        _retire_for(REFINER, "GEC-2024-000501", "GEC-2024-000510", ours["footprint"]["id"]),
    )
    _audit_agrees(chain)


def _without(message: str, footprint_id: str, index: str) -> str:
    return message.replace(footprint_id, "<id>").replace(index, "[i]")


# -- finding 8: attestation is independent ------------------------------------


def test_a_verifier_cannot_attest_its_own_organisations_footprint(chain: Chain) -> None:
    dual = enroll(chain.client, chain.operator, DUAL, "supplier", "verifier")
    own = cb.footprint_entry(DUAL, DUAL_PRODUCT)
    own_seq = chain.submit(dual, own).seq
    by_id = rejected(chain, dual, cb.attestation(DUAL, own["entryId"]))
    assert by_id.code == grpc.StatusCode.PERMISSION_DENIED
    assert by_id.message.startswith("footprintEntryId: ")
    assert "its own organisation" in by_id.message
    leaf = chain.server.store.record(own_seq)
    assert leaf is not None
    by_leaf = cb.attestation(DUAL, own["entryId"])
    del by_leaf["footprintEntryId"]
    by_leaf["footprintLeafHash"] = leaf.leaf_hash.hex()
    refused = rejected(chain, dual, by_leaf)
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.message.startswith("footprintLeafHash: ")
    # Another org's footprint it may attest, and an independent verifier may attest its own.
    # (each under the owner's detail grant: a verifier attests what it has read).
    other = cb.footprint_entry(RECYCLER, LI2CO3)
    chain.submit(chain.recycler, other)
    other_id = other["footprint"]["id"]
    chain.submit(chain.recycler, cb.grant(RECYCLER, DUAL, footprint_id=other_id, level="detail"))
    chain.submit(dual, cb.attestation(DUAL, other["entryId"]))
    own_id = own["footprint"]["id"]
    verifier = chain.verifier.org
    chain.submit(dual, cb.grant(DUAL, verifier, footprint_id=own_id, level="detail"))
    chain.submit(chain.verifier, cb.attestation(verifier, own["entryId"]))
    _audit_agrees(chain)


# -- the auditor holds a ledger to the same rules -----------------------------


def test_an_audit_names_what_a_compromised_ledger_recorded_against_these_rules() -> None:
    """A log built with no rules at all, as a compromised ledger might record it:
    the auditor's replay of ``ledger.rules`` names each entry these rules refuse."""
    log, operator = genesis()
    recycler = log.enroll(operator, RECYCLER, "supplier")
    refiner = log.enroll(operator, REFINER, "supplier")
    dual = log.enroll(operator, DUAL, "supplier", "verifier")
    issued = [("GEC-2024-000501", "GEC-2024-000510")]
    log.append(operator, cb.registry_account(operator.org, "gec-cn", REFINER, serials=issued))
    theirs = cb.footprint_entry(RECYCLER, LI2CO3)
    log.append(recycler, theirs)
    own = cb.footprint_entry(DUAL, DUAL_PRODUCT)
    log.append(dual, own)
    self_attested = log.append(dual, cb.attestation(DUAL, own["entryId"]))
    foreign_beneficiary = log.append(
        refiner,
        _retire_for(REFINER, "GEC-2024-000501", "GEC-2024-000510", theirs["footprint"]["id"]),
    )
    collector = OrgSigner(RECYCLER, new_private_key())
    log.append(recycler, collector_key_entry(RECYCLER, collector.public_key))
    log.append(collector, _batch(RECYCLER))
    log.append(
        operator, new_entry("key.revoke", operator.org, orgId=RECYCLER, keyId=recycler.key_id.hex())
    )
    after_revocation = log.append(collector, _batch(RECYCLER))
    failures = [(f.check, f.seq) for f in replay(log.records).failures]
    assert failures == [
        (Check.AUTHORITY, self_attested),
        (Check.AUTHORITY, foreign_beneficiary),
        (Check.SIGNATURE, after_revocation),
    ]
