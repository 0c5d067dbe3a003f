"""Serials are retired only from registry accounts their retirer holds, and only
the serials the registry issued to that account (issue 13, finding 6, second half;
red team F2).

Through a real gRPC ledger (SQLite and PostgreSQL). The chain fixture's operator
bound each supplier's and the buyer's account (``cb.account_of``) at the test
registries, with the serial ranges the registry issued to it (``ISSUED``). A buyer
naming another org's account, or another account's serials from its own, to retire
them first is refused without learning whose they are, and the holder's own
retirement then goes through; only the operator binds accounts and issues serials,
a serial to one account at most, and a rebinding moves the account (and its serials)
from one org to the next. An audit of what the attacks left agrees.
"""

from __future__ import annotations

import grpc

from clients.sdk import new_entry
from tests import carbon_builders as cb
from tests.chain_fixture import BUYER, ISSUED, RECYCLER, REFINER, Chain, chain, rejected
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
    rebind = cb.registry_account(
        chain.operator.org, "gec-cn", REFINER, moved, serials=ISSUED[RECYCLER]
    )
    chain.submit(chain.operator, rebind)
    former = rejected(
        chain, chain.recycler, cb.retirement(RECYCLER, "gec-cn", FIRST, LAST, account=moved)
    )
    assert former.code == grpc.StatusCode.PERMISSION_DENIED
    chain.submit(chain.refiner, cb.retirement(REFINER, "gec-cn", FIRST, LAST, account=moved))
    _audit_agrees(chain)


def test_serials_are_retired_only_from_the_account_they_were_issued_to(chain: Chain) -> None:
    """Red team F2: the operator binds ACC-A (issued ACCA-...) to the recycler and
    ACC-Y to the buyer; the buyer retiring ACC-A's serials from ACC-Y, its own
    account, would block the recycler's genuine retirement for good."""
    operator = chain.operator.org
    issued_a = [("ACCA-2024-000001", "ACCA-2024-000100")]
    chain.submit(
        chain.operator, cb.registry_account(operator, "gec-cn", RECYCLER, "ACC-A", issued_a)
    )
    issued_y = [("ACCY-2024-000001", "ACCY-2024-000100")]
    chain.submit(chain.operator, cb.registry_account(operator, "gec-cn", BUYER, "ACC-Y", issued_y))
    first, last = "ACCA-2024-000001", "ACCA-2024-000010"
    squat = rejected(
        chain, chain.buyer, cb.retirement(BUYER, "gec-cn", first, last, account="ACC-Y")
    )
    assert squat.code == grpc.StatusCode.PERMISSION_DENIED
    assert squat.message.startswith("serials: ")
    assert RECYCLER not in squat.message and "ACC-A" not in squat.message
    # No oracle: serials issued to nobody read the same.
    never = ("ACCZ-2024-000001", "ACCZ-2024-000010")
    nobody = rejected(chain, chain.buyer, cb.retirement(BUYER, "gec-cn", *never, account="ACC-Y"))
    assert (nobody.code, nobody.message.replace("ACCZ", "<p>")) == (
        squat.code,
        squat.message.replace("ACCA", "<p>"),
    )
    # The holder's own retirement goes through; the buyer's own serials still do.
    chain.submit(chain.recycler, cb.retirement(RECYCLER, "gec-cn", first, last, account="ACC-A"))
    own = ("ACCY-2024-000001", "ACCY-2024-000010")
    chain.submit(chain.buyer, cb.retirement(BUYER, "gec-cn", *own, account="ACC-Y"))
    _audit_agrees(chain)


def test_a_retirement_lies_wholly_within_serials_issued_to_its_account(chain: Chain) -> None:
    # Running into the refiner's block, or past every block, is refused.
    for first, last in (
        ("GEC-2024-000490", "GEC-2024-000510"),
        ("GEC-2025-000490", "GEC-2025-000510"),
    ):
        beyond = rejected(chain, chain.recycler, cb.retirement(RECYCLER, "gec-cn", first, last))
        assert beyond.code == grpc.StatusCode.PERMISSION_DENIED
        assert beyond.message.startswith("serials: ")
    # Adjacent blocks of one account cover a retirement across them.
    operator, account = chain.operator.org, cb.account_of(BUYER)
    blocks = [("GEC-2024-001000", "GEC-2024-001099"), ("GEC-2024-001100", "GEC-2024-001199")]
    chain.submit(chain.operator, cb.registry_account(operator, "gec-cn", BUYER, account, blocks))
    across = cb.retirement(BUYER, "gec-cn", "GEC-2024-001090", "GEC-2024-001110")
    chain.submit(chain.buyer, across)
    # The rebinding replaced the buyer's blocks: what it no longer lists is not its own.
    gone = rejected(
        chain, chain.buyer, cb.retirement(BUYER, "gec-cn", "GEC-2024-001200", "GEC-2024-001210")
    )
    assert gone.code == grpc.StatusCode.PERMISSION_DENIED
    _audit_agrees(chain)


def test_a_serial_is_issued_to_one_account_at_most(chain: Chain) -> None:
    operator = chain.operator.org
    # Overlapping the recycler's block: refused, naming neither its account nor holder.
    grab = cb.registry_account(
        operator, "gec-cn", BUYER, "acct-new", [("GEC-2024-000400", "GEC-2024-000410")]
    )
    taken = rejected(chain, chain.operator, grab)
    assert taken.code == grpc.StatusCode.ALREADY_EXISTS
    assert taken.message.startswith("serialRanges[0]: ")
    assert cb.account_of(RECYCLER) not in taken.message and RECYCLER not in taken.message
    # Ranges of one binding overlapping each other are malformed.
    twice = [("ACCB-2024-000001", "ACCB-2024-000010"), ("ACCB-2024-000010", "ACCB-2024-000020")]
    clash = rejected(
        chain, chain.operator, cb.registry_account(operator, "gec-cn", BUYER, "acct-new", twice)
    )
    assert clash.code == grpc.StatusCode.INVALID_ARGUMENT
    assert clash.message.startswith("serialRanges[1]: ")
    # An account's own earlier blocks are replaced, so re-listing them is no conflict;
    # another registry's serials are its own.
    relisted = cb.registry_account(operator, "gec-cn", RECYCLER, serials=ISSUED[RECYCLER])
    chain.submit(chain.operator, relisted)
    elsewhere = [("GEC-2024-000400", "GEC-2024-000410")]
    chain.submit(chain.operator, cb.registry_account(operator, "x-reg", BUYER, "acct-x", elsewhere))
    _audit_agrees(chain)


def test_an_audit_names_a_retirement_from_an_account_its_signer_does_not_hold() -> None:
    """A log built with no rules, as a compromised ledger might record it: the
    auditor's replay names the self-bound account, the retirement from another
    org's account and the one of serials issued to another account, and accepts the
    holder's own."""
    log, operator = genesis()
    recycler = log.enroll(operator, RECYCLER, "supplier")
    buyer = log.enroll(operator, BUYER, "buyer")
    issued = [(FIRST, "GEC-2024-000200")]
    log.append(operator, cb.registry_account(operator.org, "gec-cn", RECYCLER, serials=issued))
    log.append(operator, cb.registry_account(operator.org, "gec-cn", BUYER))
    self_bound = log.append(buyer, cb.registry_account(BUYER, "gec-cn", BUYER, "acct-own"))
    squatted = log.append(
        buyer,
        cb.retirement(BUYER, "gec-cn", FIRST, LAST, account=cb.account_of(RECYCLER)),
    )
    issued_elsewhere = log.append(
        buyer, cb.retirement(BUYER, "gec-cn", "GEC-2024-000151", "GEC-2024-000155")
    )
    log.append(recycler, cb.retirement(RECYCLER, "gec-cn", "GEC-2024-000151", "GEC-2024-000160"))
    failures = [(f.check.name, f.seq) for f in replay(log.records).failures]
    assert failures == [
        ("AUTHORITY", self_bound),
        ("AUTHORITY", squatted),
        ("AUTHORITY", issued_elsewhere),
    ]
    assert "issued" in replay(log.records).failures[2].reason


def test_a_registry_account_binding_is_well_formed(chain: Chain) -> None:
    bad = new_entry(
        "registry.account", chain.operator.org, registry="gec-cn", accountId="a b", orgId=BUYER
    )
    refusal = rejected(chain, chain.operator, bad)
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.message.startswith("accountId: ")
