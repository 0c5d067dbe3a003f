"""Held computed answers (``gateway.computed_served``): each viewer's answer is held
across appends, and each kind of append or clock edge that changes it is seen on the
next read, through a real ledger and gateway on SQLite and PostgreSQL. Each test reads
first (so the answer is held), then changes one thing the held answer rests on."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from gateway.computed_journal import Advance, ChangeJournal
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import SUPPLIER_B, Env, environment, footprint_entry

CATHODE = "urn:pact:product:cathode-b:lfp-cathode-h"
CELL = "urn:pact:product:recycler-a:lfp-cell-h"


def _chain(env: Env, cathode_kg: str = "10") -> tuple[str, str]:
    """SUPPLIER_B's cathode (``cathode_kg`` own emissions) cited twice per kg of
    SUPPLIER's cell (5 kg own): ids of the cathode and the cell."""
    cathode = footprint_entry(SUPPLIER_B, CATHODE, unit="kilogram")
    cathode["composition"]["ownEmissions"] = [
        {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": cathode_kg}
    ]
    env.submit(SUPPLIER_B, cathode)
    env.grant(SUPPLIER_B, SUPPLIER, productId=CATHODE)  # citing needs the owner's consent
    cell = footprint_entry(SUPPLIER, CELL, unit="kilogram")
    cell["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "5"}],
        "inputs": [
            {"productId": CATHODE, "companyId": SUPPLIER_B, "amount": "2", "unit": "kilogram"}
        ],
    }
    env.submit(SUPPLIER, cell)
    return cathode["footprint"]["id"], cell["footprint"]["id"]


def _computed(env: Env, org: str, fid: str) -> dict[str, Any] | None:
    with env.client(org) as http:
        answer = http.get(f"/v1/footprints/{fid}/computed")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_held_answers_follow_the_appends_that_reach_them(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        cathode, cell = _chain(env)
        grant = env.grant(SUPPLIER, BUYER, "detail", footprintId=cell)
        first = _computed(env, BUYER, cell)
        assert first is not None and first["total"] == "25"
        assert first["bySupplier"] == {SUPPLIER: "5", "undisclosed": "20"}

        env.footprint(SUPPLIER, "urn:pact:product:recycler-a:unrelated", unit="kilogram")
        assert _computed(env, BUYER, cell) == first  # held: the append reaches nothing

        # A grant to the viewer changes only its access: the cathode is now named.
        env.grant(SUPPLIER_B, BUYER, "summary", footprintId=cathode)
        named = _computed(env, BUYER, cell)
        assert named is not None and named["bySupplier"] == {SUPPLIER: "5", SUPPLIER_B: "20"}

        # A successor of the cited cathode changes the engine's result for the cell.
        successor = footprint_entry(SUPPLIER_B, CATHODE, unit="kilogram", preceding=[cathode])
        successor["composition"]["ownEmissions"] = [
            {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": "20"}
        ]
        env.submit(SUPPLIER_B, successor)
        recomputed = _computed(env, BUYER, cell)
        assert recomputed is not None and recomputed["total"] == "45"

        # A revocation names the grant, not the grantee: every viewer's answers go.
        env.revoke(SUPPLIER, grant)
        assert _computed(env, BUYER, cell) is None


def test_held_answers_end_at_the_grant_window_edge_they_rest_on(
    tmp_path: Path, db_url: str
) -> None:
    """No entry marks a window edge: an answer held must not outlive the edge of a
    window it rests on (here the viewer's access to a footprint its breakdowns are cut
    by, which opens at the edge)."""
    with environment(tmp_path, db_url) as env:
        cathode, cell = _chain(env)
        env.grant(SUPPLIER, BUYER, "detail", footprintId=cell)
        env.token(BUYER)  # (slow: the client secret is hashed) before the window starts
        started = time.monotonic()
        assert _computed(env, BUYER, cell) is not None
        round_trip = time.monotonic() - started
        edge = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
            seconds=3 + 4 * round_trip
        )
        stamp = edge.strftime("%Y-%m-%dT%H:%M:%SZ")
        env.grant(SUPPLIER_B, BUYER, "summary", footprintId=cathode, validFrom=stamp)
        before = _computed(env, BUYER, cell)
        assert dt.datetime.now(dt.UTC) < edge, "the machine is too slow for this window"
        assert before is not None and before["bySupplier"] == {SUPPLIER: "5", "undisclosed": "20"}
        # The event is the clock reaching the edge: sleep exactly until it.
        time.sleep(max(0.0, (edge - dt.datetime.now(dt.UTC)).total_seconds()))
        after = _computed(env, BUYER, cell)
        assert after is not None and after["bySupplier"] == {SUPPLIER: "5", SUPPLIER_B: "20"}


def test_the_journal_vouches_only_for_spans_it_covers() -> None:
    journal = ChangeJournal(kept=2)
    assert not journal.untouched(0, 5, frozenset({"a"}), BUYER)  # nothing recorded
    journal.record(Advance(0, 5, None, None))
    journal.record(Advance(5, 8, frozenset({"b"}), frozenset({SUPPLIER})))
    assert journal.untouched(5, 8, frozenset({"a"}), BUYER)
    assert journal.untouched(6, 8, frozenset({"a"}), BUYER)  # inside an advance
    assert not journal.untouched(5, 8, frozenset({"b"}), BUYER)  # its footprint
    assert not journal.untouched(5, 8, frozenset({"a"}), SUPPLIER)  # its grantee
    assert not journal.untouched(4, 8, frozenset({"a"}), BUYER)  # the rebuild before
    assert not journal.untouched(5, 9, frozenset({"a"}), BUYER)  # not advanced to 9
    journal.record(Advance(8, 9, frozenset(), frozenset()))
    journal.record(Advance(9, 12, frozenset(), frozenset()))
    assert journal.untouched(8, 12, frozenset({"b"}), SUPPLIER)
    assert not journal.untouched(7, 12, frozenset({"a"}), BUYER)  # forgotten (kept=2)
    journal.record(Advance(13, 14, frozenset(), frozenset()))  # a gap: the rest goes
    assert not journal.untouched(11, 14, frozenset({"a"}), BUYER)
    assert journal.untouched(13, 14, frozenset({"a"}), BUYER)
