"""No rejection is an oracle on another organisation's data (issue 13, finding 7).

A hostile supplier probes the ledger with entries that name another org's
footprints, grants, serials, entry ids and keys. Each probe is sent twice
through a real gRPC ledger (SQLite and PostgreSQL): once naming the other
org's real object and once naming one that does not exist. With the prober's
own values blanked, both refusals must read the same (status code and
message), and neither may carry the other org's ids, sequence numbers, units
or URN. Where no "missing" twin exists (a conflict can only be with something
real), the refusal still names none of that data.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from clients.sdk import OrgSigner, Rejected, collector_key_entry, new_entry
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
from tests.ledger_fixtures import SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, environment

__all__ = ["chain"]  # the fixture, imported for pytest

Probe = Callable[[str], dict[str, Any]]


def _theirs(chain: Chain) -> tuple[dict[str, Any], int]:
    """The recycler's footprint (in kilogram) and the seq it was recorded at."""
    footprint = cb.footprint_entry(RECYCLER, LI2CO3)
    return footprint, chain.submit(chain.recycler, footprint).seq


def _alike(chain: Chain, signer: OrgSigner, probe: Probe, real_id: str) -> Rejected:
    """Refusals of ``probe`` naming ``real_id`` and a missing id: assert they read the
    same once the prober's own id is blanked, and return the one about the real object."""
    missing_id = str(uuid.uuid4())
    real = rejected(chain, signer, probe(real_id))
    missing = rejected(chain, signer, probe(missing_id))
    assert real.code == missing.code
    assert real.message.replace(real_id, "<id>") == missing.message.replace(missing_id, "<id>")
    return real


def _tells_nothing_of(message: str, *secrets: str) -> None:
    """No other-org URN, no sequence number and none of ``secrets`` in ``message``."""
    assert RECYCLER not in message, message
    assert "seq" not in message, message
    for secret in secrets:
        assert secret not in message, message


def test_superseding_or_deprecating_another_orgs_footprint_reads_like_a_missing_one(
    chain: Chain,
) -> None:
    theirs, _ = _theirs(chain)

    superseding = _alike(
        chain,
        chain.refiner,
        lambda fid: cb.footprint_entry(REFINER, CATHODE, preceding=[fid]),
        theirs["footprint"]["id"],
    )
    assert superseding.code == grpc.StatusCode.FAILED_PRECONDITION
    assert superseding.message.startswith("footprint.precedingPfIds[0]: ")
    _tells_nothing_of(superseding.message)

    deprecating = _alike(
        chain,
        chain.refiner,
        lambda fid: new_entry("footprint.deprecate", REFINER, footprintId=fid, reason="x"),
        theirs["footprint"]["id"],
    )
    assert deprecating.code == grpc.StatusCode.FAILED_PRECONDITION
    assert deprecating.message.startswith("footprintId: ")
    _tells_nothing_of(deprecating.message)


def test_granting_or_revoking_for_another_org_reads_like_a_missing_reference(
    chain: Chain,
) -> None:
    theirs, _ = _theirs(chain)
    their_grant = cb.grant(RECYCLER, REFINER, footprint_id=theirs["footprint"]["id"])
    chain.submit(chain.recycler, their_grant)

    granting = _alike(
        chain,
        chain.refiner,
        lambda fid: cb.grant(REFINER, "urn:pact:company:customcode:pack-maker", footprint_id=fid),
        theirs["footprint"]["id"],
    )
    assert granting.code == grpc.StatusCode.FAILED_PRECONDITION
    assert granting.message.startswith("footprintId: ")
    _tells_nothing_of(granting.message)

    revoking = _alike(
        chain,
        chain.refiner,
        lambda grant_id: new_entry("grant.revoke", REFINER, grantId=grant_id),
        their_grant["entryId"],
    )
    assert revoking.code == grpc.StatusCode.FAILED_PRECONDITION
    assert revoking.message.startswith("grantId: ")
    _tells_nothing_of(revoking.message)


def test_a_unit_mismatch_names_the_cited_footprint_only_when_it_is_the_citers_own(
    chain: Chain,
) -> None:
    theirs, _ = _theirs(chain)
    their_id = theirs["footprint"]["id"]
    by_product = {"productId": LI2CO3, "companyId": RECYCLER}
    # The recycler lets the refiner cite its product (citing needs consent).
    chain.submit(chain.recycler, cb.grant(RECYCLER, REFINER, product_id=LI2CO3))
    for index, citation in enumerate(({"footprintId": their_id}, by_product)):
        entry = cb.footprint_entry(
            REFINER, CATHODE, inputs=[{**citation, "amount": "2", "unit": "kilowatt hour"}]
        )
        refusal = rejected(chain, chain.refiner, entry)
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT, index
        assert refusal.message.startswith("composition.inputs[0].unit: ")
        # Cited by product, the prober never named the footprint: its id stays hidden.
        hidden = (their_id, "kilogram") if citation is by_product else ("kilogram",)
        _tells_nothing_of(refusal.message.replace(RECYCLER, "<company>"), *hidden)

    # Citing its own footprint, the supplier gets the helpful detail.
    ours = cb.footprint_entry(REFINER, "urn:pact:product:refiner:precursor")
    chain.submit(chain.refiner, ours)
    own = rejected(
        chain,
        chain.refiner,
        cb.footprint_entry(
            REFINER,
            CATHODE,
            inputs=[{"footprintId": ours["footprint"]["id"], "amount": "2", "unit": "megajoule"}],
        ),
    )
    assert "'kilogram'" in own.message and ours["footprint"]["id"] in own.message


def test_conflicts_with_another_orgs_data_name_no_seq_and_no_owner(chain: Chain) -> None:
    theirs, seq = _theirs(chain)
    chain.submit(
        chain.recycler, cb.retirement(RECYCLER, "cn-gec", "GEC-2024-000001", "GEC-2024-000100")
    )

    # A footprint id is unique across the ledger: the conflict is told, not whose or when.
    taken = cb.footprint_entry(REFINER, CATHODE)
    taken["footprint"]["id"] = theirs["footprint"]["id"]
    footprint_id = rejected(chain, chain.refiner, taken)
    assert footprint_id.code == grpc.StatusCode.ALREADY_EXISTS
    assert footprint_id.message.startswith("footprint.id: ")
    own_id_blanked = footprint_id.message.replace(theirs["footprint"]["id"], "<id>")
    _tells_nothing_of(own_id_blanked, str(seq))

    # So is an entry id, checked before the signature, so by anyone.
    reused = {**cb.footprint_entry(REFINER, CATHODE), "entryId": theirs["entryId"]}
    entry_id = rejected(chain, chain.refiner, reused)
    assert entry_id.code == grpc.StatusCode.ALREADY_EXISTS
    assert entry_id.message.startswith("entryId: ")
    _tells_nothing_of(entry_id.message)

    # Another account's serials, retired or not, read like serials nobody was issued.
    retired = "GEC-2024-000100"
    serials = rejected(chain, chain.refiner, cb.retirement(REFINER, "cn-gec", retired, retired))
    assert serials.code == grpc.StatusCode.PERMISSION_DENIED
    assert serials.message.startswith("serials: ")
    _tells_nothing_of(serials.message, "overlap")
    never = "GEC-2024-900100"
    unissued = rejected(chain, chain.refiner, cb.retirement(REFINER, "cn-gec", never, never))
    assert unissued.message.replace(never, "<s>") == serials.message.replace(retired, "<s>")

    # The supplier's own footprint id conflict keeps its seq: that is its own data.
    ours = cb.footprint_entry(REFINER, CATHODE)
    own_seq = chain.submit(chain.refiner, ours).seq
    again = cb.footprint_entry(REFINER, "urn:pact:product:refiner:other")
    again["footprint"]["id"] = ours["footprint"]["id"]
    assert f"seq {own_seq}" in rejected(chain, chain.refiner, again).message


def test_naming_another_orgs_key_tells_neither_its_owner_nor_its_end(chain: Chain) -> None:
    collector = new_private_key()
    added = collector_key_entry(RECYCLER, collector.public_key().public_bytes_raw())
    chain.submit(chain.recycler, added)
    ended = OrgSigner(RECYCLER, collector).key_id
    chain.submit(
        chain.recycler, new_entry("key.revoke", RECYCLER, orgId=RECYCLER, keyId=ended.hex())
    )

    def under(key_id: bytes) -> Rejected:
        signed = chain.refiner.sign(cb.footprint_entry(REFINER, CATHODE))
        size = chain.server.store.tree_size()
        try:
            chain.client.submit(dataclasses.replace(signed, key_id=key_id))
        except Rejected as refusal:
            assert chain.server.store.tree_size() == size
            return refusal
        raise AssertionError("a submission under another org's key id was recorded")

    active, revoked = under(chain.recycler.key_id), under(ended)
    assert active.code == revoked.code == grpc.StatusCode.UNAUTHENTICATED
    assert active.message == revoked.message
    _tells_nothing_of(revoked.message, "revoked")


def test_an_attestation_tells_nothing_of_what_its_ids_name(chain: Chain) -> None:
    """Every way an attestation can name no footprint (an unknown entry id or leaf
    hash, a record that is no footprint, a leaf hash and an entry id of two different
    footprints) gets one refusal, made of the verifier's own values."""
    theirs, seq = _theirs(chain)
    other = cb.footprint_entry(RECYCLER, "urn:pact:product:recycler:nickel")
    chain.submit(chain.recycler, other)
    grant = cb.grant(RECYCLER, BUYER, footprint_id=theirs["footprint"]["id"])
    grant_seq = chain.submit(chain.recycler, grant).seq

    def leaf(at: int) -> str:
        return next(chain.server.store.records(at, at + 1)).leaf_hash.hex()

    def attest(leaf_hash: str, entry_id: str) -> Rejected:
        entry = {**cb.attestation(VERIFIER, entry_id), "footprintLeafHash": leaf_hash}
        return rejected(chain, chain.verifier, entry)

    missing_id = str(uuid.uuid4())
    refusals = {
        "mismatch": attest(leaf(seq), other["entryId"]),
        "missing id": attest(leaf(seq), missing_id),
        "not a footprint": attest(leaf(grant_seq), other["entryId"]),
        "missing hash": attest("ab" * 32, other["entryId"]),
    }
    read = {
        (r.code, r.message.replace(other["entryId"], "<id>").replace(missing_id, "<id>"))
        for r in refusals.values()
    }
    assert len(read) == 1, refusals
    ((code, message),) = read
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message.startswith("footprintEntryId: ")
    _tells_nothing_of(message, str(seq), str(grant_seq))
    alone = rejected(chain, chain.verifier, cb.attestation(VERIFIER, missing_id))
    assert alone.message.startswith("footprintEntryId: ")
    _tells_nothing_of(alone.message)


def test_a_target_tells_nothing_of_who_is_enrolled(chain: Chain) -> None:
    """A buyer's target is its own statement: naming an enrolled supplier, an org of
    another role and nobody are all recorded alike (it opens nothing: the supplier's
    inventories need its grant, tests/test_inventory_consent.py)."""
    for named in (RECYCLER, VERIFIER, "urn:pact:company:customcode:ghost"):
        target = cb.target(BUYER, named, baseYear=2021, baseValue="1200", targetYear=2025)
        assert chain.submit(chain.buyer, target).seq > 0


def test_gateway_refusals_read_the_same_for_hidden_and_missing(tmp_path: Path, db_url: str) -> None:
    """Every HTTP route that takes an id of another org's object answers a reader who
    may not see it exactly as it answers for an id that does not exist."""
    with environment(tmp_path, db_url) as env:
        product = "urn:pact:product:supplier:cell"
        footprint_id, receipt = env.footprint(SUPPLIER, product)
        env.ledger.submit(
            env.operator.sign(
                cb.registry_account(
                    env.operator.org,
                    "gec-cn",
                    SUPPLIER,
                    serials=[("GEC-2024-000001", "GEC-2024-000010")],
                )
            )
        )
        env.submit(
            SUPPLIER, cb.retirement(SUPPLIER, "gec-cn", "GEC-2024-000001", "GEC-2024-000010")
        )
        target = cb.target(OTHER_BUYER, SUPPLIER, scopes=["1"])
        env.submit(OTHER_BUYER, target)
        size = env.server.store.tree_size()
        missing_fp = str(uuid.uuid4())
        pairs = {
            "footprint v3": (f"/3/footprints/{footprint_id}", f"/3/footprints/{missing_fp}"),
            "footprint v2": (f"/2/footprints/{footprint_id}", f"/2/footprints/{missing_fp}"),
            "computed": (
                f"/v1/footprints/{footprint_id}/computed",
                f"/v1/footprints/{missing_fp}/computed",
            ),
            "contributions": (
                f"/v1/footprints/{footprint_id}/contributions",
                f"/v1/footprints/{missing_fp}/contributions",
            ),
            "product": (
                f"/v1/products/{product}/footprint?companyId={SUPPLIER}",
                f"/v1/products/{product}:missing/footprint?companyId={SUPPLIER}",
            ),
            "entry": (f"/v1/entries/{receipt.seq}", f"/v1/entries/{size + 5}"),
            "instrument": (
                "/v1/instruments/gec-cn/GEC-2024-000005",
                "/v1/instruments/gec-cn/GEC-2024-000500",
            ),
            "progress": (
                f"/v1/suppliers/{SUPPLIER}/progress",
                "/v1/suppliers/urn:pact:company:customcode:nobody/progress",
            ),
        }
        with env.client(OTHER_BUYER) as reader:
            for route, (hidden_url, missing_url) in pairs.items():
                hidden, missing = reader.get(hidden_url), reader.get(missing_url)
                assert hidden.status_code == 404, (route, hidden.text)
                assert (hidden.status_code, hidden.json()) == (
                    missing.status_code,
                    missing.json(),
                ), route
                assert SUPPLIER not in hidden.text and footprint_id not in hidden.text, route
