"""Hostile requests through a real gateway, on SQLite and PostgreSQL: control
characters anywhere a string reaches the database, integers beyond 64 bits,
malformed tokens and claims, and bodies too large or sent before authentication.
Each gets its defined 4xx with an error body naming the problem, never a 500, and
writes nothing."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from sqlalchemy import func, select

from gateway.auth import gateway_key, revoke_client, subkey
from gateway.callback_credentials import register_callback
from gateway.request_guard import MAX_BODY_BYTES
from gateway.tables import AsyncRequestRow
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_events import CE, _created, _event
from tests.test_gateway_support import Env, Receiver, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"


def _refused(answer: httpx.Response, *named: str) -> None:
    assert answer.status_code == 400, (answer.request.url, answer.text)
    body = answer.json()
    assert body["code"] == "BadRequest", body
    for name in named:
        assert name in body["message"], (name, body)


def _requests_recorded(env: Env) -> int:
    table = AsyncRequestRow.__table__  # type: ignore[attr-defined]
    with env.server.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_control_characters_are_refused_naming_the_parameter(tmp_path: Path, db_url: str) -> None:
    receiver = Receiver()
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        register_callback(
            env.server.db, tmp_path, AUDITOR, receiver.http.url, "id", "secret-" + "x" * 20
        )
        for char in ("\x00", "\x01", "\x1f", "\x7f"):
            for name in ("productId", "companyId", "geography", "classification", "status"):
                answer = auditor.get("/3/footprints", params={name: f"a{char}b"})
                _refused(answer, f"query parameter {name}", f"U+{ord(char):04X}")
        _refused(auditor.get("/3/footprints", params={"validOn": "2025\x00"}), "validOn")
        _refused(auditor.get("/2/footprints", params={"$filter": "a\x00"}), "$filter")
        _refused(auditor.get("/3/footprints", params={"x\x00": "1"}), "query parameter name")
        _refused(
            auditor.get("/v1/products/a%00b/footprint", params={"companyId": SUPPLIER}),
            "path parameter productId",
        )
        _refused(
            auditor.get(f"/v1/products/{PRODUCT}/footprint", params={"companyId": "a\x00"}),
            "query parameter companyId",
        )
        _refused(auditor.get("/v1/instruments/cn%00gec/GEC1"), "path parameter registry")
        _refused(auditor.get("/v1/instruments/cn-gec/GEC%001"), "path parameter serial")
        _refused(auditor.get("/v1/suppliers/urn%00x/progress"), "path parameter org")
        _refused(auditor.get("/3/footprints/%00"), "path parameter id")
        # A path no route matches is refused too, not answered "no such resource", and so
        # is its query, or one sent with a method its route does not allow.
        _refused(auditor.get("/no/such%00route"), "the path", "U+0000")
        _refused(auditor.get("/no/such/route", params={"q": "a\x00"}), "query parameter q")
        _refused(auditor.delete("/3/footprints", params={"q\x01": "1"}), "parameter name")
        # A trailing slash is no second address: 404, no redirect echoing the query
        # under a Location built from the Host header.
        for path in ("/3/footprints/", f"/3/footprints/{fid}/", "/healthz/"):
            answer = auditor.get(path, params={"limit": "1"}, headers={"Host": "evil.example"})
            assert answer.status_code == 404, (path, answer.status_code, answer.headers)
            assert "location" not in answer.headers
        _refused(auditor.get("/3/footprints/", params={"x": "\x1f"}), "query parameter x")
        # The API's own documents follow the same rules.
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert env.client().get(path).status_code == 200, path
            _refused(env.client().get(path, params={"x": "\x00"}), "query parameter x")
            _refused(env.client().get(path, params={"x\r\n": "1"}), "parameter name")

        # The token endpoint, before any credentials are known: an RFC 6749 error.
        form = {"grant_type": "client_credentials"}
        for auth, what in (
            (("client\x00", "secret"), "client id"),
            (("client", "sec\x00ret"), "client secret"),
        ):
            answer = env.client().post("/auth/token", data=form, auth=auth)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "invalid_request"
            assert f"HTTP Basic {what}" in answer.json()["error_description"]
        escaped = base64.b64encode(b"client%00:secret").decode()
        answer = env.client().post(
            "/auth/token", data=form, headers={"Authorization": f"Basic {escaped}"}
        )
        assert answer.status_code == 400 and "client id" in answer.text

        # A header value that is not ASCII (here UTF-8 bytes) is no credential at all.
        for raw in (b"Basic \xc3\xa9", b"Basic \xff\xfe", b"Bearer \xc3\xa9"):
            headers = {"Authorization": raw}
            answer = env.client().post("/auth/token", data=form, headers=headers)
            assert answer.status_code in (400, 401), (raw, answer.text)
            assert answer.json()["error"] in ("invalid_request", "invalid_client"), answer.text
            answer = env.client().get("/3/footprints", headers=headers)
            expected = (400, "BadRequest") if raw.startswith(b"Bearer") else (403, "AccessDenied")
            assert (answer.status_code, answer.json()["code"]) == expected, raw
            assert env.client().get("/healthz", headers=headers).status_code == 200, raw

        # Bodies: the event id and the criteria reach the database.
        for body, member in (
            ({**_created([PRODUCT]), "id": "a\x00b"}, "id"),
            (_created([f"{PRODUCT}\x00"]), "productId"),
            (_event(CREATED, {"companyId": ["\x00"]}), "companyId"),
        ):
            _refused(auditor.post("/3/events", json=body, headers=CE), member, "U+0000")
        lone = json.dumps(_created(["x"])).replace('["x"]', '["\\ud800"]')
        _refused(auditor.post("/3/events", content=lone, headers=CE), "Invalid JSON")
        v2 = _event(
            "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
            {"pf": {"productIds": ["a\x00"]}},
        )
        _refused(auditor.post("/2/events", json=v2), "productIds", "U+0000")

        # Nothing was recorded, and the gateway still serves everyone.
        assert _requests_recorded(env) == 0
        listed = auditor.get("/3/footprints", params={"productId": PRODUCT})
        assert [d["id"] for d in listed.json()["data"]] == [fid]
        assert auditor.get(f"/3/footprints/{fid}").status_code == 200


def test_integers_beyond_64_bits_are_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        huge = [str(2**63), str(2**64), str(-(2**64)), "9" * 5000, "1e30", "NaN"]
        for value in huge:
            for path, params in (
                (f"/v1/entries/{value}", {}),
                ("/v1/entries/0", {"treeSize": value}),
                ("/3/footprints", {"limit": value}),
                ("/3/footprints", {"x-carbonledger-after": value}),
                ("/2/footprints", {"limit": value}),
                ("/v1/proofs/inclusion", {"leafHash": "00" * 32, "treeSize": value}),
                ("/v1/proofs/consistency", {"first": value, "second": value}),
                (f"/v1/footprints/{fid}/contributions", {"depth": value}),
                (f"/v1/footprints/{fid}/contributions", {"cutoff": value}),
            ):
                answer = auditor.get(path, params=params)
                assert answer.status_code in (400, 404), (path, params, answer.text)
                assert answer.json()["code"] in ("BadRequest", "NotFound"), answer.text
        assert auditor.get("/v1/entries/0").status_code == 200


def test_whole_numbers_in_urls_have_one_spelling(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        site = "urn:carbonledger:site:none"
        for value in ("01", "+1", "1.0", " 1", "1 ", "\u0661", "0x1", "1_0"):
            for path, params, name in (
                (f"/v1/entries/{value}", {}, "seq"),
                (f"/v1/entries/{value}/proof", {}, "seq"),
                ("/v1/entries/0", {"treeSize": value}, "treeSize"),
                ("/v1/proofs/inclusion", {"leafHash": "00" * 32, "treeSize": value}, "treeSize"),
                ("/v1/proofs/consistency", {"first": value, "second": "2"}, "first"),
                (f"/v1/footprints/{fid}/contributions", {"depth": value}, "depth"),
                ("/3/footprints", {"limit": value}, "limit"),
                (f"/v1/sites/{site}/zero-carbon", {"year": "2024", "atSize": value}, "atSize"),
            ):
                _refused(auditor.get(path, params=params), name, "decimal digits")
        # A final newline is not left out of the path: the same tile at a second address.
        for path in ("/tlog/tile/0/000.p/1%0A", "/tlog/tile/0/000%0A", "/v1/entries/1%0A"):
            _refused(auditor.get(path), "control character (U+000A)")
        # An encoded slash is decoded before routing: the same tile at a second address.
        assert auditor.get("/tlog/tile/0/000.p/1").status_code == 200
        for path in (
            "/tlog/tile/0/000.p%2F1",
            "/tlog/tile/0%2f000.p/1",
            "/v1/products/a%2Fb/footprint",
        ):
            _refused(auditor.get(path), "encoded slash")
        # Nor one inside a path no route matches (404 before: no route's guard ran).
        for path in ("/tlog/tile/0/00%0A0.p/1", "/v1/entr%00ies/1", "/3/foot%7Fprints"):
            _refused(auditor.get(path), "the path contains a control character")
        # the one spelling is read as before
        assert auditor.get("/v1/entries/1").status_code == 200
        assert auditor.get("/v1/entries/0", params={"treeSize": "1"}).status_code == 200
        assert auditor.get("/3/footprints", params={"limit": "10"}).status_code == 200


def test_a_single_valued_parameter_given_twice_is_refused(tmp_path: Path, db_url: str) -> None:
    """Only the last value would be read, the others never checked: ``treeSize=060`` would
    slip past its one-spelling rule behind a good ``treeSize=60``."""
    with environment(tmp_path, db_url) as env, env.client(AUDITOR) as auditor:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        site = "urn:carbonledger:site:none"
        for path, query, name in (
            ("/v1/entries/0", "treeSize=01&treeSize=1", "treeSize"),
            ("/v1/proofs/consistency", "first=1&first=01&second=2", "first"),
            (f"/v1/footprints/{fid}/contributions", "depth=02&depth=2", "depth"),
            (f"/v1/footprints/{fid}/contributions", "cutoff=1&cutoff=2", "cutoff"),
            (f"/v1/sites/{site}/zero-carbon", "year=2024&year=2025", "year"),
            ("/3/footprints", "limit=1&limit=2", "limit"),
            ("/3/footprints", "status=Active&status=Deprecated", "status"),
            ("/2/footprints", "%24filter=x&%24filter=y", "$filter"),
        ):
            _refused(auditor.get(f"{path}?{query}"), f"{name} is given more than once")
        # A parameter its route reads as a list may repeat; one value is read as before.
        listed = auditor.get(f"/3/footprints?productId={PRODUCT}&productId=urn:x:y")
        assert listed.status_code == 200, listed.text
        assert [d["id"] for d in listed.json()["data"]] == [fid]
        assert auditor.get("/v1/entries/0?treeSize=1").status_code == 200


def _token(key: bytes, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, subkey(key, "carbonledger gateway access token"), "HS256")


def test_malformed_tokens_and_claims_are_refused(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        key = gateway_key(tmp_path)
        now = int(time.time())
        good = {"sub": "c", "org": BUYER, "iat": now, "exp": now + 60}
        forged = jwt.encode(good, b"k" * 32, "HS256")
        unsigned = jwt.encode(good, None, "none")
        bearer = [
            "Bearer",
            "Bearer x",
            "Bearer a.b.c",
            "Bearer " + "A" * 100_000,
            f"Bearer {forged}",
            f"Bearer {unsigned}",
            "Basic " + base64.b64encode(b"a:b").decode(),
            *(
                f"Bearer {_token(key, {**good, **change})}"
                for change in (
                    {"iat": "yesterday"},
                    {"exp": "soon"},
                    {"exp": 10**400},
                    {"exp": float(now + 60)},
                    {"sub": ["c"]},
                    {"org": None},
                    {"org": "urn:pact:company:customcode:nobody"},
                    {"iat": 10**400},
                )
            ),
        ]
        with env.client() as anonymous:
            # Not a Bearer token, or a genuine one of an org that is not enrolled: 403;
            # anything else that is not a valid token: 400 (PACT's error table).
            nobody = f"Bearer {_token(key, {**good, 'org': 'urn:pact:company:customcode:nobody'})}"
            for header in bearer:
                answer = anonymous.get("/3/footprints", headers={"Authorization": header})
                denied = header.startswith("Basic") or header == nobody
                expected = (403, "AccessDenied") if denied else (400, "BadRequest")
                assert (answer.status_code, answer.json()["code"]) == expected, header[:80]
            expired = _token(key, {**good, "exp": now - 10})
            answer = anonymous.get("/3/footprints", headers={"Authorization": f"Bearer {expired}"})
            assert answer.status_code == 401 and answer.json()["code"] == "TokenExpired"
            valid = _token(key, good)
            answer = anonymous.get("/3/footprints", headers={"Authorization": f"Bearer {valid}"})
            assert answer.status_code == 200, answer.text


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"type": "x", "data": {"pad": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}}'


def test_bodies_are_limited_and_read_only_after_authentication(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
        too_big = b'{"pad": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
        for path in ("/3/events", "/2/events"):
            # Declared (Content-Length) and streamed (chunked) oversize bodies: 413.
            for content in (too_big, _chunks(MAX_BODY_BYTES + 1)):
                answer = buyer.post(path, content=content, headers=CE)
                assert answer.status_code == 413, answer.text
                assert answer.json()["code"] == "BadRequest"
                assert str(MAX_BODY_BYTES) in answer.json()["message"]
        answer = env.client().post(
            "/auth/token",
            content=b"grant_type=" + b"x" * MAX_BODY_BYTES,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=("a", "b"),
        )
        assert answer.status_code == 413, answer.text
        assert _requests_recorded(env) == 0

        # Without a token the answer comes before any of the body is read: the
        # request declares 48 MB and sends none of it.
        host, port = urlsplit(env.url).hostname, urlsplit(env.url).port
        for path in ("/3/events", "/2/events"):
            with socket.create_connection((host, port), timeout=20) as sock:
                sock.sendall(
                    f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                    f"Content-Type: application/cloudevents+json\r\n"
                    f"Content-Length: {48 * 1024 * 1024}\r\n\r\n".encode()
                )
                head = sock.recv(65536).decode(errors="replace")
            assert head.startswith("HTTP/1.1 403"), head[:200]
            assert "AccessDenied" in head
        # A body within the limit is still read and answered after authentication.
        ok = buyer.post("/3/events", json=_event(f"{CREATED}x", {}), headers=CE)
        assert ok.status_code == 400 and "unsupported event type" in ok.json()["message"]


def test_concurrent_bad_logins_are_counted_before_their_secrets_are_checked(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        client_id, secret = env.credentials(BUYER)
        form = {"grant_type": "client_credentials"}

        def attempt(i: int) -> int:
            with env.client() as http:
                wrong = (client_id, secret + "x") if i % 2 else (f"nobody-{i}", "x")
                return http.post("/auth/token", data=form, auth=wrong).status_code

        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(attempt, range(30)))
        assert set(statuses) <= {401, 429, 503}, statuses
        assert statuses.count(429) >= 20, statuses
        assert statuses.count(401) <= 10, statuses


def _login_from(env: Env, address: str, auth: tuple[str, str]) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=env.url, transport=transport, timeout=30) as http:
        return http.post("/auth/token", data={"grant_type": "client_credentials"}, auth=auth)


def test_nobody_can_lock_a_client_out_of_logging_in(tmp_path: Path, db_url: str) -> None:
    """A client id is no secret (red team: 11 wrong secrets for the buyer's id from one
    address kept the buyer out from every other address)."""
    with environment(tmp_path, db_url, login_failures_per_minute=10) as env:
        client_id, secret = env.credentials(BUYER)
        attacks = [_login_from(env, "127.0.0.2", (client_id, "wrong")) for _ in range(12)]
        assert [a.status_code for a in attacks].count(429) >= 2, [a.text for a in attacks]
        # The buyer, from another address, logs in; the attacker's address stays throttled.
        assert _login_from(env, "127.0.0.3", (client_id, secret)).status_code == 200
        assert _login_from(env, "127.0.0.2", (client_id, "wrong")).status_code == 429
        # Once proven in this process, the buyer's secret needs no argon2 check and no
        # slot: even failures from its own address do not keep it out.
        for _ in range(10):
            _login_from(env, "127.0.0.3", ("someone-else", "wrong"))
        assert _login_from(env, "127.0.0.3", ("someone-else", "wrong")).status_code == 429
        answer = _login_from(env, "127.0.0.3", (client_id, secret))
        assert answer.status_code == 200, answer.text
        # A revoked client's proven secret is worth nothing.
        revoke_client(env.server.db, client_id)
        assert _login_from(env, "127.0.0.4", (client_id, secret)).status_code == 401


def test_a_forwarded_for_header_is_no_new_address(tmp_path: Path, db_url: str) -> None:
    """Red team (F6): uvicorn trusted X-Forwarded-For from 127.0.0.1, so a local client
    naming a new address in each request was never throttled (and could throttle a
    victim's address). No proxy is trusted unless ``serve --trusted-proxy`` names it."""
    with environment(tmp_path, db_url, login_failures_per_minute=10) as env:
        answers = []
        for n in range(12):
            with httpx.Client(base_url=env.url, timeout=30) as http:
                answers.append(
                    http.post(
                        "/auth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(f"nobody-{n}", "wrong"),
                        headers={"X-Forwarded-For": f"203.0.113.{n}"},
                    ).status_code
                )
        assert answers.count(429) >= 2, answers


def test_requests_that_never_match_do_not_starve_newer_ones(tmp_path: Path, db_url: str) -> None:
    receiver = Receiver()
    receiver.http.start()
    try:
        with (
            environment(tmp_path, db_url, reexamine_batch=2) as env,
            env.client(BUYER) as buyer,
        ):
            receiver.register(env, tmp_path, BUYER)
            # More open requests for products nobody declares than one pass examines,
            # all older than the one that can be answered.
            for i in range(5):
                never = _created([f"urn:pact:product:nobody:{i}"])
                assert buyer.post("/3/events", json=never, headers=CE).status_code == 200
            wanted = _created([PRODUCT])
            assert buyer.post("/3/events", json=wanted, headers=CE).status_code == 200
            fid, _ = env.footprint(SUPPLIER, PRODUCT)
            env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
            (fulfilled,) = receiver.wait(1)
            assert fulfilled["data"]["requestEventId"] == wanted["id"]
    finally:
        receiver.http.stop()
