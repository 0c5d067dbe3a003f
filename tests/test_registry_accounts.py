"""Serials are retired only from registry accounts their retirer holds (issue 13,
finding 6, second half).

Through a real gRPC ledger (SQLite and PostgreSQL). The chain fixture's operator
bound each supplier's and the buyer's account (``cb.account_of``) at the test
registries. A buyer naming another org's account to retire its serials first is
refused without learning whose the account is, and the holder's own retirement
then goes through; only the operator binds accounts, and a rebinding moves the
account from one org to the next. An audit of what the attacks left agrees.
"""

from __future__ import annotations

import grpc

from clients.sdk import new_entry
from tests import carbon_builders as cb
from tests.chain_fixture import BUYER, RECYCLER, REFINER, Chain, chain, rejected
from tests.test_audit_engine import genesis, replay
from tests.test_authority_rules import _audit_agrees

__all__ = ["chain"]  # the fixture, imported for pytest

FIRST, LAST = "GEC-2024-000101", "GEC-2024-000150"


def test_a_buyer_cannot_retire_serials_from_an_account_it_does_not_hold(chain: Chain) -> None:
    theirs = cb.account_of(RECYCLER)
    squat = rejected(
        chain, chain.buyer, cb.retirement(BUYER, "gec-cn", FIRST, LAST, account=theirs)
    )
    assert squat.code == grpc.StatusCode.PERMISSION_DENIED
    assert squat.message.startswith("accountId: ")
    assert RECYCLER not in squat.message
    # No oracle: an account nobody holds reads the same.
    nobody = rejected(
        chain, chain.buyer, cb.retirement(BUYER, "gec-cn", FIRST, LAST, account="acct-nobody")
    )
    assert (nobody.code, nobody.message.replace("acct-nobody", "<a>")) == (
        squat.code,
        squat.message.replace(theirs, "<a>"),
    )
    # The account is checked before the serials: once the holder retired them, the
    # buyer still learns only that the account is not its own.
    chain.submit(chain.recycler, cb.retirement(RECYCLER, "gec-cn", FIRST, LAST))
    again = rejected(
        chain, chain.buyer, cb.retirement(BUYER, "gec-cn", FIRST, LAST, account=theirs)
    )
    assert (again.code, again.message) == (squat.code, squat.message)
    _audit_agrees(chain)


def test_only_the_operator_binds_registry_accounts(chain: Chain) -> None:
    grabbed = rejected(
        chain, chain.buyer, cb.registry_account(BUYER, "gec-cn", BUYER, cb.account_of(RECYCLER))
    )
    assert grabbed.code == grpc.StatusCode.PERMISSION_DENIED
    assert grabbed.message.startswith("type: ")
    ghost = rejected(
        chain,
        chain.operator,
        cb.registry_account(chain.operator.org, "gec-cn", "urn:pact:company:customcode:ghost"),
    )
    assert ghost.code == grpc.StatusCode.FAILED_PRECONDITION
    assert ghost.message.startswith("orgId: ")

    # The operator moves the recycler's account to the refiner: one holder at a time.
    moved = cb.account_of(RECYCLER)
    chain.submit(chain.operator, cb.registry_account(chain.operator.org, "gec-cn", REFINER, moved))
    former = rejected(
        chain, chain.recycler, cb.retirement(RECYCLER, "gec-cn", FIRST, LAST, account=moved)
    )
    assert former.code == grpc.StatusCode.PERMISSION_DENIED
    chain.submit(chain.refiner, cb.retirement(REFINER, "gec-cn", FIRST, LAST, account=moved))
    _audit_agrees(chain)


def test_an_audit_names_a_retirement_from_an_account_its_signer_does_not_hold() -> None:
    """A log built with no rules, as a compromised ledger might record it: the
    auditor's replay names the self-bound account and the retirement from another
    org's account, and accepts the holder's own."""
    log, operator = genesis()
    recycler = log.enroll(operator, RECYCLER, "supplier")
    buyer = log.enroll(operator, BUYER, "buyer")
    log.append(operator, cb.registry_account(operator.org, "gec-cn", RECYCLER))
    self_bound = log.append(buyer, cb.registry_account(BUYER, "gec-cn", BUYER, "acct-own"))
    squatted = log.append(
        buyer,
        cb.retirement(BUYER, "gec-cn", FIRST, LAST, account=cb.account_of(RECYCLER)),
    )
    log.append(recycler, cb.retirement(RECYCLER, "gec-cn", "GEC-2024-000151", "GEC-2024-000160"))
    failures = [(f.check.name, f.seq) for f in replay(log.records).failures]
    assert failures == [("AUTHORITY", self_bound), ("AUTHORITY", squatted)]


def test_a_registry_account_binding_is_well_formed(chain: Chain) -> None:
    bad = new_entry(
        "registry.account", chain.operator.org, registry="gec-cn", accountId="a b", orgId=BUYER
    )
    refusal = rejected(chain, chain.operator, bad)
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.message.startswith("accountId: ")
