"""PACT events over loopback: the asynchronous request flow with a real callback
receiver, persisted callbacks that survive a gateway restart, and event errors."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gateway.tables import AsyncRequestRow, CallbackRow
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, Receiver, environment, gateway

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
LATER = "urn:pact:product:recycler-a:lfp-later"
CE = {"Content-Type": "application/cloudevents+json"}


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": type_,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "//buyer.example/3/events",
        "time": "2025-03-05T17:31:00Z",
        "data": data,
    }


def _created(products: list[str]) -> dict[str, Any]:
    return _event("org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", {"productId": products})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_asynchronous_requests_are_answered_by_callback(tmp_path: Path, db_url: str) -> None:
    receiver = Receiver(fail_first=1)
    receiver.http.start()
    try:
        with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
            receiver.register(env, tmp_path, BUYER)
            fid, _ = env.footprint(SUPPLIER, PRODUCT)
            env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)

            request = _created([PRODUCT.upper()])
            answer = buyer.post("/3/events", json=request, headers=CE)
            assert answer.status_code == 200 and answer.content == b""
            (fulfilled,) = receiver.wait(1)
            assert fulfilled["type"] == "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
            assert fulfilled["data"]["requestEventId"] == request["id"]
            assert [pf["id"] for pf in fulfilled["data"]["pfs"]] == [fid]
            assert receiver.attempts == 2  # the first delivery failed and was retried

            # Re-sending the same request event records nothing new.
            assert buyer.post("/3/events", json=request, headers=CE).status_code == 200
            with env.server.db.read() as conn:
                table = AsyncRequestRow.__table__  # type: ignore[attr-defined]
                count = conn.execute(
                    select(func.count()).where(table.c.event_id == request["id"])
                ).scalar_one()
            assert count == 1

            null = _created(["urn:pact:null"])
            assert buyer.post("/3/events", json=null, headers=CE).status_code == 200
            rejected = receiver.wait(2)[1]
            assert rejected["type"] == "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
            assert rejected["data"]["requestEventId"] == null["id"]
            assert rejected["data"]["error"]["code"] == "NotFound"

            # A product nobody declared yet: the request stays open for the supplier
            # and is fulfilled once a matching footprint is visible to the requester.
            pending = _created([LATER])
            assert buyer.post("/3/events", json=pending, headers=CE).status_code == 200
            later, _ = env.footprint(SUPPLIER, LATER)
            env.grant(SUPPLIER, BUYER, "detail", productId=LATER)
            third = receiver.wait(3)[2]
            assert third["data"]["requestEventId"] == pending["id"]
            assert [pf["id"] for pf in third["data"]["pfs"]] == [later]

            # v2.3 requests are answered with v2.3 events and footprints.
            v2 = _event(
                "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
                {"pf": {"productIds": [PRODUCT]}, "comment": "please"},
            )
            assert buyer.post("/2/events", json=v2).status_code == 200
            fourth = receiver.wait(4)[3]
            assert fourth["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
            assert fourth["data"]["pfs"][0]["specVersion"] == "2.3.0"
    finally:
        receiver.http.stop()


def test_event_errors_and_other_event_types(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(OTHER_BUYER) as other:
        published = _event(
            "org.wbcsd.pact.ProductFootprint.PublishedEvent.3", {"pfIds": [str(uuid.uuid4())]}
        )
        assert other.post("/3/events", json=published, headers=CE).status_code == 200
        cases = {
            "no endpoint registered": _created([PRODUCT]),
            "unknown type": _event("org.example.Unknown.1", {}),
            "v2 type on v3": _event("org.wbcsd.pathfinder.ProductFootprint.Published.v1", {}),
            "bad criteria": _event(
                "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", {"productId": "x"}
            ),
            "bad date": _event(
                "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", {"validOn": "soon"}
            ),
            "bad pfIds": _event("org.wbcsd.pact.ProductFootprint.PublishedEvent.3", {"pfIds": "x"}),
            # The conformance suite's test 40: footprint ids are UUIDs.
            "non-UUID pfIds": _event(
                "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
                {"pfIds": ["urn:gtin:4712345060507"]},
            ),
            "no pfIds": _event("org.wbcsd.pact.ProductFootprint.PublishedEvent.3", {}),
            "fulfilled without pfs": _event(
                "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
                {"requestEventId": str(uuid.uuid4())},
            ),
            "rejected without error": _event(
                "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
                {"requestEventId": str(uuid.uuid4())},
            ),
        }
        for name, body in cases.items():
            answer = other.post("/3/events", json=body, headers=CE)
            assert answer.status_code == 400, name
            assert answer.json()["code"] == "BadRequest", name
        # And on /2 (the suite's test 21).
        v2_published = _event(
            "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
            {"pfIds": ["urn:gtin:4712345060507"]},
        )
        answer = other.post("/2/events", json=v2_published, headers=CE)
        assert (answer.status_code, answer.json()["code"]) == (400, "BadRequest")
        assert "data.pfIds.0" in answer.json()["message"]
        missing = {k: v for k, v in _created([PRODUCT]).items() if k != "id"}
        assert other.post("/3/events", json=missing, headers=CE).status_code == 400
        assert env.client().post("/3/events", json=published).json()["code"] == "AccessDenied"


def test_callbacks_survive_a_gateway_restart(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        Receiver().register(env, tmp_path, BUYER, f"http://127.0.0.1:{_closed_port()}")
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        request = _created([PRODUCT])
        with env.client(BUYER) as buyer:
            assert buyer.post("/3/events", json=request, headers=CE).status_code == 200
        env.http.stop()  # the first gateway goes away with the callback undelivered
        table = CallbackRow.__table__  # type: ignore[attr-defined]
        with env.server.db.read() as conn:
            (state,) = conn.execute(select(table.c.state)).one()
        assert state == "pending"

        receiver = Receiver()
        receiver.http.start()
        try:
            receiver.register(env, tmp_path, BUYER)
            with gateway(tmp_path, db_url, server=env.server):
                (event,) = receiver.wait(1)
            assert event["data"]["requestEventId"] == request["id"]
            with env.server.db.read() as conn:
                row = conn.execute(select(table.c.state, table.c.attempts)).one()
            assert row.state == "delivered" and row.attempts >= 1
        finally:
            receiver.http.stop()
