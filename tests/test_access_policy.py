"""The access policy's decision as a pure function (``ledger.read.access``): levels from
grants, and the time the answer may change. The paths that use it are tested through
real servers in ``tests/test_access_policy_paths.py``."""

from __future__ import annotations

import dataclasses
import math

from ledger.read.access import (
    DETAIL,
    SUMMARY,
    Caller,
    entry_access,
    footprint_access,
    inventory_access,
)
from ledger.rules.view import GrantFacts

OWNER, BUYER, OTHER = "urn:owner", "urn:buyer", "urn:other"
FID, PRODUCT = "fp-1", "urn:product"
NOW = 1_000_000


def _grant(
    level: str = DETAIL,
    *,
    grantor: str = OWNER,
    grantee: str = BUYER,
    footprint_id: str | None = FID,
    product_id: str | None = None,
    valid_from_us: int | None = None,
    valid_until_us: int | None = None,
    revoked_seq: int | None = None,
) -> GrantFacts:
    return GrantFacts(
        "g",
        1,
        grantor,
        grantee,
        footprint_id,
        product_id,
        level,
        valid_from_us,
        valid_until_us,
        revoked_seq,
    )


A_BUYER = Caller(BUYER, frozenset())


def _level(*grants: GrantFacts, caller: Caller = A_BUYER) -> str | None:
    return footprint_access(caller, OWNER, FID, [PRODUCT], grants, NOW).level


def test_the_highest_live_level_counts_and_only_the_callers_grants_from_the_owner() -> None:
    assert _level() is None
    assert _level(_grant(SUMMARY)) == SUMMARY
    assert _level(_grant(SUMMARY), _grant(DETAIL)) == DETAIL
    assert _level(_grant(grantee=OTHER)) is None
    assert _level(_grant(footprint_id=None, product_id=PRODUCT)) == DETAIL
    assert _level(_grant(footprint_id=None, product_id=PRODUCT, grantor=OTHER)) is None
    assert _level(_grant(revoked_seq=5)) is None
    assert _level(_grant(valid_until_us=NOW)) is None  # until is exclusive
    assert _level(_grant(valid_from_us=NOW)) == DETAIL
    assert _level(caller=Caller(OTHER, frozenset({"auditor"}))) == DETAIL
    assert _level(caller=Caller(OWNER, frozenset())) == DETAIL


def test_the_answer_holds_until_the_nearest_future_window_edge() -> None:
    caller = A_BUYER
    grants = [
        _grant(valid_from_us=NOW - 10, valid_until_us=NOW + 50),
        _grant(SUMMARY, valid_from_us=NOW + 20),
        _grant(grantee=OTHER, valid_from_us=NOW + 5),  # not the caller's: no edge of its
    ]
    access = footprint_access(caller, OWNER, FID, [], grants, NOW)
    assert (access.level, access.changes_at_us) == (DETAIL, NOW + 20)
    assert footprint_access(caller, OWNER, FID, [], [_grant()], NOW).changes_at_us == math.inf


def test_entry_bytes_need_detail_or_being_the_grantee() -> None:
    buyer = A_BUYER
    summary = footprint_access(buyer, OWNER, FID, [], [_grant(SUMMARY)], NOW)
    detail = footprint_access(buyer, OWNER, FID, [], [_grant()], NOW)
    assert not entry_access(buyer, OWNER, "footprint", footprint=summary)
    assert entry_access(buyer, OWNER, "footprint", footprint=detail)
    assert entry_access(buyer, OWNER, "grant", grantee=BUYER)
    assert not entry_access(buyer, OWNER, "grant", grantee=OTHER)
    assert not entry_access(buyer, OWNER, "target")
    assert entry_access(buyer, BUYER, "target")


def test_inventories_open_only_through_a_live_inventory_grant() -> None:
    """A supplier's inventories (and its ``inventory`` entries' bytes): the supplier and
    read-all roles always; another org only inside a live inventory grant's window; a
    footprint grant or a revoked inventory grant opens nothing."""
    buyer = Caller("urn:buyer", frozenset({"buyer"}))
    window = GrantFacts("g1", 1, "urn:s", "urn:buyer", None, None, None, 100, 200, inventory=True)
    footprint_grant = GrantFacts("g2", 2, "urn:s", "urn:buyer", "f", None, "detail")
    revoked = dataclasses.replace(window, valid_from_us=None, valid_until_us=None, revoked_seq=9)
    assert inventory_access(Caller("urn:s", frozenset()), "urn:s", [], 0).level == "detail"
    assert inventory_access(Caller("urn:a", frozenset({"auditor"})), "urn:s", [], 0).level
    assert inventory_access(buyer, "urn:s", [window], 150).level == "detail"
    assert inventory_access(buyer, "urn:s", [window], 99).level is None
    assert inventory_access(buyer, "urn:s", [window], 99).changes_at_us == 100
    assert inventory_access(buyer, "urn:s", [window], 200).level is None
    assert inventory_access(buyer, "urn:other", [window], 150).level is None
    assert inventory_access(buyer, "urn:s", [footprint_grant, revoked], 150).level is None
    opened = inventory_access(buyer, "urn:s", [window], 150)
    assert entry_access(buyer, "urn:s", "inventory", inventories=opened)
    closed = inventory_access(buyer, "urn:s", [window], 250)
    assert not entry_access(buyer, "urn:s", "inventory", inventories=closed)
