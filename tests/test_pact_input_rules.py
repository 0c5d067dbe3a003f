"""Hostile input on the PACT routes refused by name (red team, 2026-12-06), through a real
gateway on SQLite and PostgreSQL: date-times only in RFC 3339 form, single-valued query
parameters given once, the v2.3 ``$filter`` subset's edges, event envelopes and criteria
sizes, and pages whose next link never leads to an empty page."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from gateway.events import MAX_OPEN_REQUESTS
from gateway.events_api import MAX_CRITERIA
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_events import CE, _created, _event
from tests.test_gateway_support import Receiver, environment

NOT_RFC3339 = [
    "2025-01-01",
    "2025-06-01T00:00:00",
    "20250101T000000Z",
    "2025-06-01T00Z",
    "2025-06-01T00:00:00+0100",
    " 2025-06-01T00:00:00Z",
    "2025-W01",
]


def _refused(answer: Any, code: str, *words: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == code, body
    for word in words:
        assert word in body["message"], body


def test_query_parameters_are_checked_strictly(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(BUYER) as http:
        assert (
            http.get("/3/footprints", params={"validOn": "2025-06-01T00:00:00Z"}).status_code == 200
        )
        assert (
            http.get("/3/footprints", params={"validOn": "2025-06-01t00:00:00z"}).status_code == 200
        )
        for text in NOT_RFC3339:
            _refused(http.get("/3/footprints", params={"validOn": text}), "BadRequest", "validOn")
            statement = f"created ge '{text}'"
            _refused(http.get("/2/footprints", params={"$filter": statement}), "BadRequest")
        _refused(http.get("/3/footprints?limit=1&limit=2"), "BadRequest", "limit")
        _refused(
            http.get("/2/footprints", params=[("$filter", "pcf/geographyCountry eq 'CN'")] * 2),
            "BadRequest",
            "$filter",
        )
        either = "productIds/any(x:x eq 'a' or x eq 'b')"
        _refused(http.get("/2/footprints", params={"$filter": either}), "NotImplemented", "any()")
        nbsp = "pcf/geographyCountry\u00a0eq 'CN'"
        _refused(http.get("/2/footprints", params={"$filter": nbsp}), "BadRequest")


def test_a_v2_page_link_never_leads_to_an_empty_page(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(BUYER) as http:
        kwh, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:kwh-1")
        piece, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:piece-1", unit="piece")
        for fid in (kwh, piece):
            env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        first = http.get("/2/footprints", params={"limit": 1})
        assert [d["id"] for d in first.json()["data"]] == [kwh]
        assert "link" not in first.headers  # v2.3 cannot express the piece footprint
        assert [d["id"] for d in http.get("/3/footprints").json()["data"]] == [kwh, piece]


def test_event_envelopes_and_criteria_are_checked(tmp_path: Path, db_url: str) -> None:
    receiver = Receiver()
    receiver.http.start()
    try:
        with environment(tmp_path, db_url) as env, env.client(BUYER) as http:
            receiver.register(env, tmp_path, BUYER)
            created = _created(["urn:pact:product:none"])
            for media_type in ("text/plain", "application/xml", ""):
                answer = http.post(
                    "/3/events",
                    content=json.dumps(created).encode(),
                    headers={"Content-Type": media_type},
                )
                _refused(answer, "BadRequest", "Content-Type")
            for member, value in (("specversion", "0.3"), ("time", "not a time")):
                answer = http.post("/3/events", json={**created, member: value}, headers=CE)
                assert answer.status_code == 400, (member, answer.text)
            many = _created([f"urn:pact:product:x:{n}" for n in range(MAX_CRITERIA + 1)])
            _refused(http.post("/3/events", json=many, headers=CE), "BadRequest", "productId")

            for n in range(MAX_OPEN_REQUESTS):
                request = _created([f"urn:pact:product:nothing-yet:{n}"])
                assert http.post("/3/events", json=request, headers=CE).status_code == 200
            one_more = _created(["urn:pact:product:nothing-yet:more"])
            _refused(
                http.post("/3/events", json=one_more, headers=CE), "BadRequest", "open requests"
            )
            published = _event(
                "org.wbcsd.pact.ProductFootprint.PublishedEvent.3", {"pfIds": [str(uuid.uuid4())]}
            )
            assert http.post("/3/events", json=published, headers=CE).status_code == 200
    finally:
        receiver.http.stop()
