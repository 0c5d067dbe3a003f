"""Dates at the edges of the calendar, through a real gateway on both backends: a
footprint recorded with ``referencePeriodEnd`` in year 9999 (its default validity
would end past ``datetime.max``), leap days, and query values from year 1 to 9999
or outside the calendar. Listings answer 200 or 400 with a PACT body, never 500,
and open asynchronous requests keep being answered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert

from gateway.tables import AsyncRequestRow
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_events import CE, _event
from tests.test_gateway_support import Receiver, environment

FAR = "urn:pact:product:recycler-a:far-future"
LEAP = "urn:pact:product:recycler-a:leap-day"
PLAIN = "urn:pact:product:recycler-a:plain"


def test_listings_filter_by_validity_at_the_calendar_edges(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        far, _ = env.footprint(SUPPLIER, FAR, ref_end="9999-06-01T00:00:00Z")
        leap, _ = env.footprint(SUPPLIER, LEAP, ref_end="2024-02-29T00:00:00Z")
        plain, _ = env.footprint(SUPPLIER, PLAIN, ref_end="2025-01-01T00:00:00.1234567Z")

        def ids(**params: str) -> set[str]:
            answer = auditor.get("/3/footprints", params=params)
            assert answer.status_code == 200, (params, answer.text)
            return {doc["id"] for doc in answer.json()["data"]}

        # The year-9999 footprint is valid from its reference period end to the end of
        # the calendar; the others have their three years.
        assert ids(validOn="9999-12-31T23:59:59Z") == {far}
        assert ids(validOn="9999-12-31T23:59:59.999999Z") == {far}
        assert ids(validAfter="9999-01-01T00:00:00Z") == {far}
        assert ids(validOn="2026-01-01T00:00:00Z") == {leap, plain}
        assert ids(validBefore="9999-12-31T23:59:59Z") == {leap, plain}
        # Leap day + 3 years is 28 February.
        assert leap in ids(validOn="2027-02-28T00:00:00Z")
        assert leap not in ids(validOn="2027-02-28T00:00:01Z")
        # The first instants of the calendar.
        assert ids(validOn="0001-01-01T00:00:00Z") == set()
        assert ids(validBefore="0001-01-01T00:00:00Z") == set()
        assert ids(validAfter="0001-01-01T00:00:00Z") == {far, leap, plain}

        for bad in (
            "10000-01-01T00:00:00Z",
            "0000-12-31T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-01-01T00:00:00+99:00",
            # Offsets that carry an instant out of the calendar in UTC (as in entries).
            "0001-01-01T00:00:00+23:59",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-23:59",
            "2025-01-01T24:00:01Z",
            "9" * 5000,
        ):
            for name in ("validOn", "validAfter", "validBefore"):
                answer = auditor.get("/3/footprints", params={name: bad})
                assert answer.status_code == 400, (name, bad, answer.text)
                body = answer.json()
                assert body["code"] == "BadRequest" and name in body["message"]


def test_open_requests_are_answered_when_a_far_future_footprint_arrives(
    tmp_path: Path, db_url: str
) -> None:
    receiver = Receiver()
    receiver.http.start()
    try:
        with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
            receiver.register(env, tmp_path, BUYER)
            # A row an operator's mistake (or an old version) left unreadable: it must
            # not stop the others (examined after it) from being answered.
            with env.server.db.write_engine.begin() as conn:
                conn.execute(
                    insert(AsyncRequestRow.__table__).values(  # type: ignore[attr-defined]
                        request_id=str(uuid.uuid4()),
                        event_id=str(uuid.uuid4()),
                        requester=BUYER,
                        criteria=json.dumps({"v": 3, "filters": "{not json"}),
                        state="open",
                        created_us=0,
                    )
                )
            # An open request whose criteria compare validity, left open because
            # nothing matches yet.
            created = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"
            request = _event(created, {"productId": [FAR], "validOn": "9999-12-31T00:00:00Z"})
            assert buyer.post("/3/events", json=request, headers=CE).status_code == 200
            far, _ = env.footprint(SUPPLIER, FAR, ref_end="9999-06-01T00:00:00Z")
            env.grant(SUPPLIER, BUYER, "summary", productId=FAR)

            (fulfilled,) = receiver.wait(1)
            assert fulfilled["data"]["requestEventId"] == request["id"]
            assert [pf["id"] for pf in fulfilled["data"]["pfs"]] == [far]
    finally:
        receiver.http.stop()


@pytest.mark.parametrize("version", [2, 3])
def test_listings_without_date_filters_serve_far_future_footprints(
    tmp_path: Path, version: int
) -> None:
    from ledger.store.database import sqlite_url

    with environment(tmp_path, sqlite_url(tmp_path)) as env, env.client(AUDITOR) as auditor:
        far, _ = env.footprint(SUPPLIER, FAR, ref_end="9999-06-01T00:00:00Z", unit="kilogram")
        answer = auditor.get(f"/{version}/footprints")
        assert answer.status_code == 200, answer.text
        assert [doc["id"] for doc in answer.json()["data"]] == [far]
        assert auditor.get(f"/{version}/footprints/{far}").status_code == 200
