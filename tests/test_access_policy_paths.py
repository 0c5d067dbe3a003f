"""One access policy, every read path: each kind of caller gets the same answer
(nothing, ``summary`` or ``detail``) for one footprint through gRPC ``GetEntry`` (by seq
and by entry id) and ``StreamEntries``, PACT v2.3 and v3.0 reads and lists,
``/v1/entries/{seq}`` and asynchronous request fulfilment, all through real servers;
and what it may not see is answered byte for byte like what does not exist.

Entry paths serve the entry's bytes, which carry the composition: they answer
"detail" or nothing. Grant windows are set a day either side of now.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import select

from clients.sdk import LedgerClient
from gateway.tables import AsyncRequestRow
from ledger.read.access import DETAIL, SUMMARY
from tests.ledger_fixtures import AUDITOR, SUPPLIER, enroll
from tests.test_gateway_support import SUPPLIER_B, Env, Receiver, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
CE = {"Content-Type": "application/cloudevents+json"}
EXTENSION = "urn:carbonledger:extension:ledger-record:1.0.0"
_AR = AsyncRequestRow.__table__  # type: ignore[attr-defined]


def _instant(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _buyer(kind: str) -> str:
    return f"urn:pact:company:customcode:buyer-{kind}"


# caller kind -> (the org, its level on the footprint, whether it reads the grant entry)
def _callers(operator: str) -> dict[str, tuple[str, str | None, bool]]:
    return {
        "owner": (SUPPLIER, DETAIL, True),
        "auditor": (AUDITOR, DETAIL, True),
        "operator": (operator, DETAIL, True),
        "no grant": (_buyer("none"), None, False),
        "detail grant": (_buyer("detail"), DETAIL, True),  # the grantee of the grant entry
        "summary grant": (_buyer("summary"), SUMMARY, False),
        "product line by owner": (_buyer("line"), DETAIL, False),
        "product line by another org": (_buyer("foreign-line"), None, False),
        "expired grant": (_buyer("expired"), None, False),
        "not yet valid grant": (_buyer("future"), None, False),
        "not yet valid product line": (_buyer("future-line"), None, False),
        "revoked grant": (_buyer("revoked"), None, False),
    }


def _scenario(env: Env, callers: dict[str, tuple[str, str | None, bool]]) -> dict[str, Any]:
    for org, _, _ in callers.values():
        if org not in env.orgs and org != env.operator.org:
            env.orgs[org] = enroll(env.ledger, env.operator, org, "buyer")
    env.orgs[env.operator.org] = env.operator
    fid, receipt = env.footprint(SUPPLIER, PRODUCT, unit="kilogram")
    env.footprint(SUPPLIER_B, PRODUCT, unit="kilogram")  # so SUPPLIER_B may grant the line

    def grant(kind: str, level: str = DETAIL, grantor: str = SUPPLIER, **scope: Any) -> str:
        return env.grant(grantor, callers[kind][0], level, **scope)

    grant_id = grant("detail grant", footprintId=fid)
    grant("summary grant", SUMMARY, footprintId=fid)
    grant("product line by owner", productId=PRODUCT)
    grant("product line by another org", grantor=SUPPLIER_B, productId=PRODUCT)
    grant("expired grant", footprintId=fid, validFrom=_instant(-2), validUntil=_instant(-1))
    grant("not yet valid grant", footprintId=fid, validFrom=_instant(1))
    grant("not yet valid product line", productId=PRODUCT, validFrom=_instant(1))
    env.revoke(SUPPLIER, grant("revoked grant", footprintId=fid))
    with LedgerClient(env.server.grpc_target, signer=env.orgs[SUPPLIER]) as owner:
        grant_record = owner.get_entry(entry_id=grant_id)
    env.server.checkpointer.refresh()
    return {
        "fid": fid,
        "footprint_seq": receipt.seq,
        "footprint_entry_id": receipt.entry_id,
        "grant_id": grant_id,
        "grant_seq": grant_record.seq,
    }


def _level(doc: dict[str, Any]) -> str:
    (ext,) = [e for e in doc["extensions"] if e["dataSchema"] == EXTENSION]
    level: str = ext["data"]["accessLevel"]
    assert ("composition" in ext["data"]) == (level == DETAIL)
    return level


def _grpc_entry(client: LedgerClient, **key: Any) -> bytes | None:
    try:
        return bytes(client.get_entry(**key).entry)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None


def _grpc_refusal(client: LedgerClient, **key: Any) -> tuple[Any, Any]:
    with pytest.raises(grpc.RpcError) as err:
        client.get_entry(**key)
    return err.value.code(), err.value.details()


def _http_level(http: httpx.Client, path: str) -> str | None:
    answer = http.get(path)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return _level(answer.json()["data"])


def _listed_level(http: httpx.Client, path: str, fid: str) -> str | None:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    found = [d for d in answer.json()["data"] if d["id"] == fid]
    return _level(found[0]) if found else None


def test_every_read_path_gives_each_caller_the_same_answer(tmp_path: Path, db_url: str) -> None:
    receiver = Receiver()
    receiver.http.start()
    try:
        with environment(tmp_path, db_url) as env:
            callers = _callers(env.operator.org)
            facts = _scenario(env, callers)
            fid = facts["fid"]
            target = env.server.grpc_target
            requests: dict[str, str] = {}
            wrong: list[tuple[str, str, object, object]] = []
            for kind, (org, level, reads_grant) in callers.items():
                receiver.register(env, tmp_path, org)
                entry_level = DETAIL if level == DETAIL else None
                with (
                    LedgerClient(target, signer=env.orgs[org]) as rpc,
                    env.client(org) as http,
                ):
                    fp = _grpc_entry(rpc, seq=facts["footprint_seq"])
                    streamed = {r.seq for r in rpc.stream_entries(0)}
                    answers = {
                        "grpc GetEntry seq": DETAIL if fp else None,
                        "grpc GetEntry id": DETAIL
                        if _grpc_entry(rpc, entry_id=facts["footprint_entry_id"])
                        else None,
                        "grpc StreamEntries": DETAIL
                        if facts["footprint_seq"] in streamed
                        else None,
                        "/v1/entries": DETAIL
                        if http.get(f"/v1/entries/{facts['footprint_seq']}").status_code == 200
                        else None,
                        "/2/footprints/{id}": _http_level(http, f"/2/footprints/{fid}"),
                        "/2/footprints": _listed_level(http, "/2/footprints", fid),
                        "/3/footprints/{id}": _http_level(http, f"/3/footprints/{fid}"),
                        "/3/footprints": _listed_level(http, "/3/footprints", fid),
                    }
                    expected = {
                        path: (entry_level if path.startswith(("grpc", "/v1")) else level)
                        for path in answers
                    }
                    wrong += [(kind, p, answers[p], want) for p, want in expected.items()]

                    grant_answers = {
                        "grpc GetEntry seq": _grpc_entry(rpc, seq=facts["grant_seq"]) is not None,
                        "grpc GetEntry id": _grpc_entry(rpc, entry_id=facts["grant_id"])
                        is not None,
                        "grpc StreamEntries": facts["grant_seq"] in streamed,
                        "/v1/entries": http.get(f"/v1/entries/{facts['grant_seq']}").status_code
                        == 200,
                    }
                    wrong += [
                        (kind, f"grant entry via {p}", got, reads_grant)
                        for p, got in grant_answers.items()
                    ]

                    request = _created(PRODUCT)
                    assert http.post("/3/events", json=request, headers=CE).status_code == 200
                    requests[request["id"]] = kind

            assert "\n".join(map(str, (w for w in wrong if w[2] != w[3]))) == ""
            for org, level, _ in callers.values():
                if level is None:
                    _hidden_reads_like_missing(env, org, facts)
            fulfilled = [k for k, (_, level, _) in callers.items() if level is not None]
            events = receiver.wait(len(fulfilled))
            by_kind: dict[str, str | None] = dict.fromkeys(callers)
            for event in events:
                kind = requests[event["data"]["requestEventId"]]
                (doc,) = [pf for pf in event["data"]["pfs"] if pf["id"] == fid]
                by_kind[kind] = _level(doc)
            with env.server.db.read() as conn:
                open_events = set(
                    conn.execute(select(_AR.c.event_id).where(_AR.c.state == "open")).scalars()
                )
            for event_id, kind in requests.items():
                assert (event_id in open_events) == (callers[kind][1] is None), kind
            assert by_kind == {k: level for k, (_, level, _) in callers.items()}
    finally:
        receiver.http.stop()


def _created(product: str) -> dict[str, Any]:
    return {
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "//buyer.example/3/events",
        "time": "2025-03-05T17:31:00Z",
        "data": {"productId": [product], "companyId": [SUPPLIER]},
    }


def _hidden_reads_like_missing(env: Env, org: str, facts: dict[str, Any]) -> None:
    """Every path refuses the hidden footprint with the very bytes it gives for none."""
    beyond, fid = 10**9, facts["fid"]
    with LedgerClient(env.server.grpc_target, signer=env.orgs[org]) as rpc, env.client(org) as http:
        assert _grpc_refusal(rpc, seq=facts["footprint_seq"]) == _grpc_refusal(rpc, seq=beyond)
        assert _grpc_refusal(rpc, entry_id=facts["footprint_entry_id"]) == _grpc_refusal(
            rpc, entry_id=str(uuid.uuid4())
        )
        for path in ("/2/footprints/{}", "/3/footprints/{}"):
            hidden, absent = http.get(path.format(fid)), http.get(path.format(uuid.uuid4()))
            assert hidden.status_code == 404
            assert (hidden.status_code, hidden.content) == (absent.status_code, absent.content)
        hidden = http.get(f"/v1/entries/{facts['footprint_seq']}")
        absent = http.get(f"/v1/entries/{beyond}")
        assert hidden.status_code == 404
        assert (hidden.status_code, hidden.content) == (absent.status_code, absent.content)


def test_answers_change_when_a_grant_window_opens_or_closes(tmp_path: Path, db_url: str) -> None:
    """The gateway caches each answer until the next window edge it rests on: a grant
    that ends stops showing the footprint, one that starts shows it, right at the edge,
    with no new entry in the log to invalidate the cache (and gRPC agrees)."""
    closing, opening = _buyer("closing"), _buyer("opening")
    with environment(tmp_path, db_url) as env:
        for org in (closing, opening):
            env.orgs[org] = enroll(env.ledger, env.operator, org, "buyer")
        fid, receipt = env.footprint(SUPPLIER, PRODUCT, unit="kilogram")
        for org in (closing, opening):
            env.token(org)  # (slow: the client secret is hashed) before the window starts

        def answers(org: str) -> tuple[str | None, str | None, bool]:
            with (
                env.client(org) as http,
                LedgerClient(env.server.grpc_target, signer=env.orgs[org]) as rpc,
            ):
                return (
                    _http_level(http, f"/3/footprints/{fid}"),
                    _http_level(http, f"/2/footprints/{fid}"),
                    _grpc_entry(rpc, seq=receipt.seq) is not None,
                )

        # The window edge leaves room for two grants and two rounds of reads, measured on
        # this machine now, so a loaded machine widens it instead of failing.
        started = time.monotonic()
        assert answers(closing) == answers(opening) == (None, None, False)
        round_trip = time.monotonic() - started
        edge = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
            seconds=3 + 4 * round_trip
        )
        stamp = edge.strftime("%Y-%m-%dT%H:%M:%SZ")
        env.grant(SUPPLIER, closing, DETAIL, footprintId=fid, validUntil=stamp)
        env.grant(SUPPLIER, opening, DETAIL, footprintId=fid, validFrom=stamp)
        before = answers(closing), answers(opening)
        assert dt.datetime.now(dt.UTC) < edge, "the machine is too slow for this window"
        assert before == ((DETAIL, DETAIL, True), (None, None, False))
        # The event is the clock reaching the edge: sleep exactly until it.
        time.sleep(max(0.0, (edge - dt.datetime.now(dt.UTC)).total_seconds()))
        assert answers(closing) == (None, None, False)
        assert answers(opening) == (DETAIL, DETAIL, True)
