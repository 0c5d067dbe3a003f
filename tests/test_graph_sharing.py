"""``graph.sharing`` through the ledger adapter, with record times chosen by the test.

Grant windows are signed timestamps; whether a footprint recorded at some moment is shared
is decided by the record's own timestamp, never by the wall clock, so replays of the same
log agree. Here each entry is applied with an explicit record time (what the gateway and
the auditor pass from the record), to cover windows that the server tests cannot reach
without waiting for the clock: a grant that expired before the owner's new footprint,
one that starts after it, and one still live.
"""

from __future__ import annotations

import uuid
from typing import Any

from clients.sdk import new_entry
from graph.ledger_adapter import ActiveFootprints
from ledger.entries import parse_entry
from ledger.keys import encode_public_key, new_private_key, public_key_bytes
from tests.test_gateway_support import footprint_entry

OPERATOR = "urn:pact:company:customcode:operator"
B = "urn:pact:company:customcode:cathode-b"
C = "urn:pact:company:customcode:cell-c"
B_PRODUCT = "urn:pact:product:cathode-b:precursor"
DAY_US = 86_400 * 1_000_000
T0 = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z


def _at(day: int) -> str:
    return f"2026-01-{1 + day:02d}T00:00:00Z"


def _footprint(org: str, product: str, own_kg: str, inputs: list[dict[str, Any]], **kw: Any) -> Any:
    entry = footprint_entry(org, product, unit="kilogram", **kw)
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": own_kg}],
        "inputs": inputs,
    }
    return parse_entry(entry)


def _chain(active: ActiveFootprints, window: tuple[str | None, str | None]) -> tuple[str, str]:
    """B's footprint (7 kg) and B's product-line grant to C with ``window`` on day 0, C's
    footprint citing 1 kg of B's product on day 1; returns B's and C's ids."""
    for org in (B, C):
        enrol = new_entry(
            "org.enroll",
            OPERATOR,
            orgId=org,
            name=org.rsplit(":", 1)[-1],
            roles=["supplier"],
            publicKey=encode_public_key(public_key_bytes(new_private_key())),
        )
        active.apply(parse_entry(enrol), T0)
    b = _footprint(B, B_PRODUCT, "7", [])
    active.apply(b, T0)
    valid_from, valid_until = window
    grant: dict[str, Any] = {"grantee": C, "level": "summary", "productId": B_PRODUCT}
    if valid_from:
        grant["validFrom"] = valid_from
    if valid_until:
        grant["validUntil"] = valid_until
    active.apply(parse_entry(new_entry("grant", B, **grant)), T0)
    cite = {"productId": B_PRODUCT, "companyId": B, "amount": "1", "unit": "kilogram"}
    c = _footprint(C, "urn:pact:product:cell-c:cell", "1", [cite])
    active.apply(c, T0 + DAY_US)
    return b.footprint.id, c.footprint.id


def _c_total_after_b_supersedes_on(day: int, window: tuple[str | None, str | None]) -> float:
    active = ActiveFootprints()
    b_id, c_id = _chain(active, window)
    engine = active.engine()
    assert engine.total(c_id) == 8.0
    new_b = _footprint(B, B_PRODUCT, "102", [], preceding=[b_id], fid=str(uuid.uuid4()))
    change = active.apply(new_b, T0 + day * DAY_US)
    engine.apply(added=change.added, removed=change.removed)
    # The incremental engine and a replay of the whole active set agree.
    assert active.engine().total(c_id) == engine.total(c_id)
    return engine.total(c_id)


def test_a_new_footprint_inside_the_grant_window_is_followed() -> None:
    assert _c_total_after_b_supersedes_on(5, (None, _at(10))) == 103.0


def test_a_new_footprint_after_the_window_ended_is_not_followed() -> None:
    assert _c_total_after_b_supersedes_on(12, (None, _at(10))) == 1.0


def test_the_window_end_is_exclusive() -> None:
    assert _c_total_after_b_supersedes_on(10, (None, _at(10))) == 1.0


def test_a_grant_that_has_not_started_shares_nothing_recorded_before_it() -> None:
    """The grant opens on day 1, when C cites B's product (the rules checked it then);
    a footprint B records on day 0.5, before the window opens, is not shared."""
    active = ActiveFootprints()
    b_id, c_id = _chain(active, (_at(1), None))
    engine = active.engine()
    assert engine.total(c_id) == 8.0  # C's own citation on day 1 was checked by the rules
    new_b = _footprint(B, B_PRODUCT, "102", [], preceding=[b_id])
    change = active.apply(new_b, T0 + DAY_US // 2)  # recorded before the window opens
    engine.apply(added=change.added, removed=change.removed)
    assert engine.total(c_id) == 1.0
