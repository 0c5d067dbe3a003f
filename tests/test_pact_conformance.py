"""Every test case of the PACT conformance suite (ACT) for Tech Specs V2.3 and V3.0,
as our own test, over HTTPS against a real gateway on both backends.

The catalogues are the published expected-results documents
(``wbcsd/pact-conformance-service``: ``docs/v2-test-cases-expected-results.md``,
``docs/v3-test-cases-expected-results.md``) and the suite's runner, whose requests these
tests send (``packages/test/src/test-cases/v2-tests.ts``, ``v3-tests.ts``). Each test is
named after its case number (``test_tc06_…[v3]``, ``test_v3_tc40_…``);
``docs/pact-conformance.md`` maps every case to its test and says where the documents,
the runner and the spec differ.

One seeded host per backend serves the whole module (the cases only read, or send
events that answer to their own request id): four footprints visible to the buyer,
who plays the conformance suite, with a real callback receiver on HTTPS standing in
for the suite's listener:

* OLD: the supplier's, product P_A, DE, classification C_A, default validity
  [2025-01-01, 2028-01-01], Deprecated (A names it in ``precedingPfIds``);
* A: the supplier's, P_A, DE, C_A, validity [2025-01-15T10:15:30Z, 2027-12-31], Active;
* B: the supplier's, P_B, FR, C_B, default validity [2025-06-01, 2028-06-01], Active;
* E: the second supplier's, P_E, JP, C_B, default validity [2025-01-01, 2028-01-01],
  Active.

The filter cases assert the exact set the spec's semantics give on this data (a
stronger check than the suite's "every returned footprint matches").
"""

from __future__ import annotations

import base64
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.events import V2_TYPES, V3_TYPES
from gateway.pact_v2 import ProductFootprintV2
from gateway.tables import AsyncRequestRow
from ledger.entries.carbon.pact import ProductFootprint
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import SUPPLIER_B, Env, Receiver, environment, self_signed

P_A = "urn:pact:product:conformance:renewable-diesel"
P_B = "urn:pact:product:conformance:bio-ethanol"
P_E = "urn:pact:product:conformance:biodiesel"
C_A = "urn:pact:productclassification:un-cpc:46410"
C_B = "urn:pact:productclassification:un-cpc:46420"
A_START, A_END = "2025-01-15T10:15:30Z", "2027-12-31T00:00:00Z"
CE = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
WEBHOOK = "https://conformance.example/webhook"
BAD_TOKEN = {"Authorization": f"Bearer very-invalid-access-token-{uuid.uuid4().hex[:16]}"}
V2_REQUIRED = (
    "id",
    "specVersion",
    "version",
    "created",
    "status",
    "comment",
    "companyName",
    "companyIds",
    "productDescription",
    "productIds",
    "productCategoryCpc",
    "productNameCompany",
    "pcf",
)


@dataclass
class Host:
    """The seeded gateway, the buyer's credentials and the receiver of its callbacks."""

    env: Env
    receiver: Receiver
    client_id: str
    secret: str
    ids: dict[str, str]

    @property
    def url(self) -> str:
        return self.env.url

    def api(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """The buyer's client over HTTPS (its Bearer token unless ``headers`` replace it)."""
        auth = headers if headers is not None else {"Authorization": self._bearer()}
        return httpx.Client(base_url=self.url, headers=auth, verify=self.env.verify, timeout=30)

    def _bearer(self) -> str:
        return f"Bearer {self.env.token(BUYER)}"

    def names(self, data: list[dict[str, Any]]) -> set[str]:
        by_id = {fid: name for name, fid in self.ids.items()}
        return {by_id[d["id"]] for d in data}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[Host]:
    data_dir = tmp_path_factory.mktemp("conformance")
    cert, key = self_signed(data_dir)
    trust = ssl.create_default_context(cafile=str(cert))
    receiver = Receiver(tls=(cert, key))
    receiver.http.start()
    try:
        with environment(data_dir, module_db_url, tls=(cert, key), callback_verify=trust) as env:
            receiver.register(env, data_dir, BUYER)
            ids: dict[str, str] = {}
            ids["OLD"], _ = env.footprint(
                SUPPLIER, P_A, geography=("geographyCountry", "DE"), classification=C_A
            )
            ids["A"], _ = env.footprint(
                SUPPLIER,
                P_A,
                preceding=[ids["OLD"]],
                geography=("geographyCountry", "DE"),
                classification=C_A,
                validity=(A_START, A_END),
            )
            ids["B"], _ = env.footprint(
                SUPPLIER,
                P_B,
                geography=("geographyCountry", "FR"),
                classification=C_B,
                ref_end="2025-06-01T00:00:00Z",
            )
            ids["E"], _ = env.footprint(
                SUPPLIER_B, P_E, geography=("geographyCountry", "JP"), classification=C_B
            )
            for name, fid in ids.items():
                owner = SUPPLIER_B if name == "E" else SUPPLIER
                env.grant(owner, BUYER, "summary", footprintId=fid)
            client_id, secret = env.credentials(BUYER)
            yield Host(env, receiver, client_id, secret, ids)
    finally:
        receiver.http.stop()


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {
        "Authorization": f"Basic {pair}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }


def _token(host: Host, url: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        url,
        content=b"grant_type=client_credentials",
        headers=_basic(client_id, secret),
        verify=host.env.verify,
    )


def _event(type_: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": WEBHOOK,
        "time": "2025-05-19T10:30:00Z",
        "type": type_,
        "data": data,
    }


def _types(version: int) -> dict[str, str]:
    return V2_TYPES if version == 2 else V3_TYPES


def _created(version: int, products: list[str]) -> dict[str, Any]:
    """A RequestCreated event as the suite sends it (v2: ``pf.productIds``; v3: the
    ListFootprints criteria, here ``productId``)."""
    data: dict[str, Any] = (
        {"pf": {"productIds": products}} if version == 2 else {"productId": products}
    )
    data["comment"] = "Please send PCF data for this year."
    return _event(_types(version)["created"], data)


def _published(version: int, pf_ids: list[str]) -> dict[str, Any]:
    return _event(_types(version)["published"], {"pfIds": pf_ids})


def _plain_http(url: str) -> str:
    assert url.startswith("https://")
    return "http://" + url.removeprefix("https://")


def _assert_invalid_token(answer: httpx.Response) -> None:
    """PACT's error table (and the suite's tests 6, 7, 16): 400 BadRequest, flagged
    ``invalid_token``."""
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "BadRequest" and answer.json()["message"]
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def _assert_refused_over_http(send: Any) -> None:
    """ "Connection should be rejected or response should not include data / tokens":
    the TLS port gives plain HTTP no HTTP answer at all."""
    with pytest.raises(httpx.HTTPError):
        send()


VERSIONS = pytest.mark.parametrize("version", [pytest.param(2, id="v2"), pytest.param(3, id="v3")])


# -- Test case 0: the suite's initialisation ----------------------------------------------


@VERSIONS
def test_tc00_initialize_test_run(host: Host, version: int) -> None:
    """OpenID discovery, a token, at least two footprints, and a Link on ``limit=1``."""
    discovery = httpx.get(f"{host.url}/.well-known/openid-configuration", verify=host.env.verify)
    assert discovery.status_code == 200
    token_url = discovery.json()["token_endpoint"]
    assert token_url == f"{host.url}/auth/token"
    token = _token(host, token_url, host.client_id, host.secret)
    assert token.status_code == 200 and token.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with host.api(bearer) as api:
        assert len(api.get(f"/{version}/footprints").json()["data"]) >= 2
        assert (
            'rel="next"' in api.get(f"/{version}/footprints", params={"limit": 1}).headers["link"]
        )


# -- Test cases 1, 2, 18, 19: authentication ----------------------------------------------


@VERSIONS
def test_tc01_obtain_auth_token_with_valid_credentials(host: Host, version: int) -> None:
    answer = _token(host, f"{host.url}/auth/token", host.client_id, host.secret)
    assert answer.status_code == 200
    body = answer.json()
    assert body["access_token"] and body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    with host.api({"Authorization": f"Bearer {body['access_token']}"}) as api:
        assert api.get(f"/{version}/footprints").status_code == 200


@VERSIONS
def test_tc02_obtain_auth_token_with_invalid_credentials(host: Host, version: int) -> None:
    for client_id, secret in (
        (host.client_id, "wrong-secret-" + "x" * 20),
        (f"unknown-{uuid.uuid4().hex}", "whatever-secret"),
    ):
        answer = _token(host, f"{host.url}/auth/token", client_id, secret)
        assert answer.status_code in (400, 401)
        assert answer.json()["error"] == "invalid_client"
        assert "access_token" not in answer.json()


@VERSIONS
def test_tc18_openid_connect_based_authentication_flow(host: Host, version: int) -> None:
    """Optional in both catalogues (the spec: a host SHOULD offer OpenID discovery)."""
    discovery = httpx.get(f"{host.url}/.well-known/openid-configuration", verify=host.env.verify)
    config = discovery.json()
    assert "client_credentials" in config["grant_types_supported"]
    assert "client_secret_basic" in config["token_endpoint_auth_methods_supported"]
    answer = _token(host, config["token_endpoint"], host.client_id, host.secret)
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"


@VERSIONS
def test_tc19_openid_connect_flow_with_incorrect_credentials(host: Host, version: int) -> None:
    discovery = httpx.get(f"{host.url}/.well-known/openid-configuration", verify=host.env.verify)
    answer = _token(host, discovery.json()["token_endpoint"], host.client_id, "not-the-secret")
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


# -- Test cases 3, 4, 5: reading footprints --------------------------------------------------


@VERSIONS
def test_tc03_get_pcf_using_getfootprint(host: Host, version: int) -> None:
    fid = host.ids["A"]
    with host.api() as api:
        answer = api.get(f"/{version}/footprints/{fid}")
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["id"] == fid and P_A in data["productIds"]
    if version == 3:
        ProductFootprint.model_validate(data)
        assert data["specVersion"].startswith("3.")
    else:
        ProductFootprintV2.model_validate(data)
        assert all(member in data for member in V2_REQUIRED)
        assert data["specVersion"] == "2.3.0"


@VERSIONS
def test_tc04_get_all_pcfs_using_listfootprints(host: Host, version: int) -> None:
    with host.api() as api:
        answer = api.get(f"/{version}/footprints")
    assert answer.status_code in (200, 202)
    data = answer.json()["data"]
    assert host.names(data) == {"OLD", "A", "B", "E"} and len(data) == 4
    model = ProductFootprint if version == 3 else ProductFootprintV2
    for footprint in data:
        model.model_validate(footprint)
    statuses = {host.names([d]).pop(): d["status"] for d in data}
    assert statuses == {"OLD": "Deprecated", "A": "Active", "B": "Active", "E": "Active"}


@VERSIONS
def test_tc05_pagination_link_implementation_of_listfootprints(host: Host, version: int) -> None:
    """The suite follows the first link of ``limit=1``; we walk every page: each link is
    absolute, on the request's host, and the pages add up to the whole list once."""
    seen: list[str] = []
    with host.api() as api:
        answer = api.get(f"/{version}/footprints", params={"limit": 1})
        while True:
            assert answer.status_code == 200
            page = answer.json()["data"]
            assert len(page) <= 1
            seen += [d["id"] for d in page]
            link = answer.headers.get("link")
            if link is None:
                break
            target, rel = link.split(";", 1)
            assert rel.strip() == 'rel="next"'
            url = target.strip().removeprefix("<").removesuffix(">")
            assert url.startswith(f"{host.url}/{version}/footprints?")
            answer = api.get(url)
            assert api.get(url).json() == answer.json()  # a link can be called again
    assert sorted(seen) == sorted(host.ids.values())


# -- Test cases 6, 7, 8: errors on reads -----------------------------------------------------


@VERSIONS
def test_tc06_attempt_listfootprints_with_invalid_token(host: Host, version: int) -> None:
    with host.api(BAD_TOKEN) as api:
        _assert_invalid_token(api.get(f"/{version}/footprints"))


@VERSIONS
def test_tc07_attempt_getfootprint_with_invalid_token(host: Host, version: int) -> None:
    with host.api(BAD_TOKEN) as api:
        _assert_invalid_token(api.get(f"/{version}/footprints/{host.ids['A']}"))


@VERSIONS
def test_tc08_attempt_getfootprint_with_non_existent_pfid(host: Host, version: int) -> None:
    """V2.3: 404 ``NoSuchFootprint``; V3.0: 404 ``NotFound`` (the documents' example ids
    are not UUIDs, the runner's is a UUID no footprint has: both are "no such footprint")."""
    code = "NoSuchFootprint" if version == 2 else "NotFound"
    with host.api() as api:
        for fid in (
            "00000000-0000-0000-0000-000000000000",
            str(uuid.uuid4()),
            "non-existent-id",
            f"random-string-as-id-{uuid.uuid4().hex[:16]}",
        ):
            answer = api.get(f"/{version}/footprints/{fid}")
            assert answer.status_code == 404, (fid, answer.text)
            assert answer.json()["code"] == code and answer.json()["message"]


# -- Test cases 9, 10, 11, 17: plain HTTP is refused -----------------------------------------


@VERSIONS
def test_tc09_attempt_authentication_through_http(host: Host, version: int) -> None:
    url = _plain_http(f"{host.url}/auth/token")
    _assert_refused_over_http(
        lambda: httpx.post(
            url,
            content=b"grant_type=client_credentials",
            headers=_basic(host.client_id, host.secret),
        )
    )


@VERSIONS
def test_tc10_attempt_listfootprints_through_http(host: Host, version: int) -> None:
    headers = {"Authorization": f"Bearer {host.env.token(BUYER)}"}
    url = _plain_http(f"{host.url}/{version}/footprints")
    _assert_refused_over_http(lambda: httpx.get(url, headers=headers))


@VERSIONS
def test_tc11_attempt_getfootprint_through_http(host: Host, version: int) -> None:
    headers = {"Authorization": f"Bearer {host.env.token(BUYER)}"}
    url = _plain_http(f"{host.url}/{version}/footprints/{host.ids['A']}")
    _assert_refused_over_http(lambda: httpx.get(url, headers=headers))


@VERSIONS
def test_tc17_attempt_action_events_through_http(host: Host, version: int) -> None:
    headers = {"Authorization": f"Bearer {host.env.token(BUYER)}", **CE}
    url = _plain_http(f"{host.url}/{version}/events")
    event = _published(version, [str(uuid.uuid4())])
    _assert_refused_over_http(lambda: httpx.post(url, json=event, headers=headers))


# -- Test cases 12, 13, 14: the asynchronous request, answered by callback --------------------


@VERSIONS
def test_tc12_receive_asynchronous_pcf_request(host: Host, version: int) -> None:
    request = _created(version, [P_B])
    with host.api() as api:
        answer = api.post(f"/{version}/events", json=request, headers=CE)
    assert answer.status_code == 200 and answer.content == b""
    path, _ = host.receiver.answer_to(request["id"])  # it was taken up, not just parsed
    assert path == f"/{version}/events"


@VERSIONS
def test_tc13_request_fulfilled_event(host: Host, version: int) -> None:
    """The runner's test 13: the host calls the requester back with a RequestFulfilled
    event whose footprints are all of the requested products. The document's test 13:
    the host accepts a RequestFulfilled event sent to it."""
    request = _created(version, [P_A])
    with host.api() as api:
        assert api.post(f"/{version}/events", json=request, headers=CE).status_code == 200
        path, fulfilled = host.receiver.answer_to(request["id"])
        assert path == f"/{version}/events"
        assert fulfilled["type"] == _types(version)["fulfilled"]
        assert fulfilled["specversion"] == "1.0" and fulfilled["id"] and fulfilled["source"]
        pfs = fulfilled["data"]["pfs"]
        assert {d["id"] for d in pfs} == {host.ids["OLD"], host.ids["A"]}
        assert all(p in [P_A] for pf in pfs for p in pf["productIds"])
        model = ProductFootprint if version == 3 else ProductFootprintV2
        for pf in pfs:
            model.model_validate(pf)

        sent = _event(
            _types(version)["fulfilled"], {"requestEventId": str(uuid.uuid4()), "pfs": pfs}
        )
        answer = api.post(f"/{version}/events", json=sent, headers=CE)
    assert answer.status_code == 200


@VERSIONS
def test_tc14_request_rejected_event(host: Host, version: int) -> None:
    """The runner's 14.A/14.B: a request for ``urn:pact:null`` is answered with a
    RequestRejected event carrying an error code and message. The document's test 14:
    the host accepts a RequestRejected event sent to it."""
    request = _created(version, ["urn:pact:null"])
    with host.api() as api:
        assert api.post(f"/{version}/events", json=request, headers=CE).status_code == 200
        path, rejected = host.receiver.answer_to(request["id"])
        assert path == f"/{version}/events"
        assert rejected["type"] == _types(version)["rejected"]
        error = rejected["data"]["error"]
        assert error["code"] == ("NoSuchFootprint" if version == 2 else "NotFound")
        assert error["message"]

        error = {"code": "NotFound", "message": "The requested footprint could not be found."}
        sent = _event(
            _types(version)["rejected"], {"requestEventId": str(uuid.uuid4()), "error": error}
        )
        answer = api.post(f"/{version}/events", json=sent, headers=CE)
    assert answer.status_code == 200


# -- Test cases 15, 16, 40 (V3) / 15, 16, 21 (V2): other events --------------------------------


@VERSIONS
def test_tc15_receive_notification_of_pcf_update(host: Host, version: int) -> None:
    with host.api() as api:
        answer = api.post(
            f"/{version}/events", json=_published(version, [str(uuid.uuid4())]), headers=CE
        )
    assert answer.status_code == 200


@VERSIONS
def test_tc16_attempt_action_events_with_invalid_token(host: Host, version: int) -> None:
    """Refused before the body is read: a request sent with a bad token records nothing."""
    request = _created(version, [P_A])
    with host.api(BAD_TOKEN) as api:
        _assert_invalid_token(
            api.post(
                f"/{version}/events", json=_published(version, [str(uuid.uuid4())]), headers=CE
            )
        )
        _assert_invalid_token(api.post(f"/{version}/events", json=request, headers=CE))
    table = AsyncRequestRow.__table__  # type: ignore[attr-defined]
    with host.env.server.db.read() as conn:
        recorded = conn.execute(
            select(func.count()).where(table.c.event_id == request["id"])
        ).scalar_one()
    assert recorded == 0


def _assert_malformed_published_refused(host: Host, version: int) -> None:
    """A PublishedEvent whose ``pfIds`` are not UUIDs (a product URN) is a 400."""
    with host.api() as api:
        answer = api.post(
            f"/{version}/events", json=_published(version, ["urn:gtin:4712345060507"]), headers=CE
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == "BadRequest" and "pfIds" in answer.json()["message"]


def test_v2_tc21_failed_published_event_malformed_request(host: Host) -> None:
    _assert_malformed_published_refused(host, 2)


def test_v3_tc40_failed_published_event_malformed_request(host: Host) -> None:
    _assert_malformed_published_refused(host, 3)


# -- Test cases 20-39 (V3): ListFootprints filters -------------------------------------------

V3_FILTERS = [
    ("tc20_productId", [("productId", P_A)], {"OLD", "A"}),
    ("tc21_companyId", [("companyId", SUPPLIER)], {"OLD", "A", "B"}),
    ("tc22_geography", [("geography", "DE")], {"OLD", "A"}),
    ("tc23_classification", [("classification", C_A)], {"OLD", "A"}),
    ("tc24_validOn", [("validOn", A_START)], {"OLD", "A", "E"}),
    ("tc25_validAfter", [("validAfter", "2025-01-14T10:15:30Z")], {"A", "B"}),
    ("tc26_validBefore", [("validBefore", "2028-01-01T00:00:00Z")], {"A"}),
    ("tc27_status", [("status", "Active")], {"A", "B", "E"}),
    ("tc28_status_and_productId", [("status", "Active"), ("productId", P_A)], {"A"}),
    (
        "tc29_companyId_or",
        [("companyId", SUPPLIER), ("companyId", "urn:uuid:other"), ("companyId", "x")],
        {"OLD", "A", "B"},
    ),
    ("tc30_productId_negative", [("productId", "urn:bogus:product:nonexistent123")], set()),
    ("tc31_companyId_negative", [("companyId", "urn:bogus:company:nonexistent456")], set()),
    ("tc32_geography_negative", [("geography", "XX")], set()),
    ("tc33_classification_negative", [("classification", "urn:bogus:classification:1")], set()),
    ("tc34_validOn_negative", [("validOn", "1900-01-01T00:00:00Z")], set()),
    ("tc35_validAfter_negative", [("validAfter", "2099-12-31T23:59:59Z")], set()),
    ("tc36_validBefore_negative", [("validBefore", "1900-01-01T00:00:00Z")], set()),
    ("tc37_status_negative", [("status", "BogusStatusValue")], set()),
    (
        "tc38_and_negative",
        [("companyId", "urn:bogus:company:5FIi8zS3"), ("productId", "urn:bogus:product:1")],
        set(),
    ),
    (
        "tc39_or_negative",
        [("companyId", f"urn:bogus:company:nonexistent{i}") for i in (1, 2, 3)],
        set(),
    ),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [pytest.param(p, e, id=f"v3_{case}") for case, p, e in V3_FILTERS],
)
def test_v3_tc20_to_tc39_filtered_listfootprints(
    host: Host, params: list[tuple[str, str]], expected: set[str]
) -> None:
    """Values of one parameter OR, parameters AND; a value that matches nothing (an
    unknown status included) is an empty ``data``, never an error."""
    with host.api() as api:
        answer = api.get("/3/footprints", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json().keys() == {"data"}
    assert host.names(answer.json()["data"]) == expected


# -- Test case 20 (V2.3): $filter ------------------------------------------------------------


def test_v2_tc20_get_filtered_list_of_footprints(host: Host) -> None:
    """Optional in V2.3. ``created ge '<the first footprint's created>'``."""
    with host.api() as api:
        first = api.get("/2/footprints").json()["data"][0]
        answer = api.get("/2/footprints", params={"$filter": f"created ge '{first['created']}'"})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data and all(d["created"] >= first["created"] for d in data)
    assert host.names(data) == {"OLD", "A", "B", "E"}
