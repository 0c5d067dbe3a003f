"""``GET /v1/sites/{site}/zero-carbon`` and ``GET /v1/programmes/suppliers`` through a
real ledger and gateway on SQLite and PostgreSQL (issue 19).

Who sees a site's evaluation is the one access policy's answer: the owner, a buyer
with the owner's live inventory grant, auditors, and the verifier that rated the site;
anyone else (no grant, an expired or revoked one, another verifier) gets the very bytes
of a site that does not exist. A row of the site index pointed at another record is
refused as tampering, not served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests import carbon_builders as cb
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll
from tests.test_audit_tamper import engine
from tests.test_gateway_support import OTHER_BUYER, SUPPLIER_B, Env, environment
from tests.zero_carbon_support import (
    FIVE,
    NOWHERE,
    OTHER_VERIFIER,
    THIRD,
    THREE,
    UNBACKED,
    VERIFIER,
    attest,
    record_programme,
)

EXPIRED_BUYER = "urn:pact:company:customcode:expired-buyer"
REVOKED_BUYER = "urn:pact:company:customcode:revoked-buyer"


def _get(client: httpx.Client, site: str, year: Any = 2024) -> tuple[int, bytes]:
    answer = client.get(f"/v1/sites/{site}/zero-carbon", params={"year": year})
    return answer.status_code, answer.content


def _setup(env: Env) -> str:
    """The programme, the two extra buyers and verifiers; VERIFIER rates FIVE, then
    its grant is revoked. Returns the attestation's entry id."""
    for org, role in (
        (EXPIRED_BUYER, "buyer"),
        (REVOKED_BUYER, "buyer"),
        (VERIFIER, "verifier"),
        (OTHER_VERIFIER, "verifier"),
    ):
        env.orgs[org] = enroll(env.ledger, env.operator, org, role)
    record_programme(env)
    past = {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2021-01-01T00:00:00Z"}
    env.submit(SUPPLIER, cb.inventory_grant(SUPPLIER, EXPIRED_BUYER, **past))
    revoked = cb.inventory_grant(SUPPLIER, REVOKED_BUYER)
    env.submit(SUPPLIER, revoked)
    env.revoke(SUPPLIER, str(revoked["entryId"]))
    with env.client(SUPPLIER) as owner:
        served = owner.get(f"/v1/sites/{FIVE}/zero-carbon", params={"year": 2024}).json()
    attestation = attest(env, VERIFIER, FIVE, SUPPLIER, served)
    # The verifier's grant ends: it still sees what it rated.
    env.revoke(SUPPLIER, _grant_to(env, VERIFIER))
    return attestation


def _grant_to(env: Env, grantee: str) -> str:
    with engine(env.server.db.url) as eng, eng.connect() as conn:
        found = conn.execute(
            text("SELECT entry_id FROM access_grant WHERE grantee = :g AND inventory"),
            {"g": grantee},
        ).scalar()
    assert found is not None
    return str(found)


def test_the_five_star_site_as_its_owner_sees_it(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        attestation = _setup(env)
        with env.client(SUPPLIER) as owner:
            status, _ = _get(owner, FIVE)
            body = owner.get(f"/v1/sites/{FIVE}/zero-carbon", params={"year": 2024}).json()
    assert status == 200
    assert (body["site"], body["owner"], body["year"]) == (FIVE, SUPPLIER, 2024)
    assert (body["level"], body["stars"], body["factoryType"]) == ("five-star", 5, "I")
    assert body["offsetRatioPercent"] == "100"
    assert body["scopes"] == {
        "scope1TCO2e": "100",
        "scope2LocationTCO2e": "200",
        "scope2MarketTCO2e": "0",
        "scope2MarketDerived": True,
        "scope3DeclaredTCO2e": None,
    }
    assert body["ownReduction"]["met"] is True
    (previous,) = body["ownReduction"]["comparisons"]
    assert (previous["against"], previous["year"], previous["absoluteChangePercent"]) == (
        "previous",
        2023,
        "-14.2857142857",  # 300 t against 350 t
    )
    assert body["renewable"]["sharePercent"] == "100"
    assert body["renewable"]["backedMWh"] == "400"
    assert body["renewable"]["unbackedClaimMWh"] == "0"
    assert body["offsets"] == {"avoidanceTCO2e": "100", "removalTCO2e": "0"}
    assert body["typeI"]["unmet"] == ["six-star: removals cover 0 % of the residual, 100 % needed"]
    assert body["flags"] == []
    # Two inventories, two retirements; each named by entry id, seq and leaf hash.
    assert len(body["inputs"]) == 4
    assert all(len(i["leafHash"]) == 64 and i["seq"] > 0 for i in body["inputs"])
    (rated,) = body["attestations"]
    assert (rated["entryId"], rated["verifier"], rated["status"]) == (
        attestation,
        VERIFIER,
        "current",
    )


def test_who_sees_a_site(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _setup(env)
        seen = {}
        for org in (
            SUPPLIER,
            BUYER,
            AUDITOR,
            VERIFIER,
            OTHER_BUYER,
            EXPIRED_BUYER,
            REVOKED_BUYER,
            OTHER_VERIFIER,
            SUPPLIER_B,
        ):
            with env.client(org) as client:
                seen[org] = (_get(client, FIVE), _get(client, NOWHERE))
        with env.client() as anonymous:
            unauthenticated = anonymous.get(f"/v1/sites/{FIVE}/zero-carbon?year=2024")
    for org in (SUPPLIER, BUYER, AUDITOR, VERIFIER):
        assert seen[org][0][0] == 200, org
    for org in (OTHER_BUYER, EXPIRED_BUYER, REVOKED_BUYER, OTHER_VERIFIER, SUPPLIER_B):
        hidden, missing = seen[org]
        assert hidden[0] == 404, org
        assert hidden == missing, org  # the same bytes as a site that does not exist
        assert hidden[1] == b'{"code":"NotFound","message":"no such site"}'
    # No token: the gateway's one answer (PACT: 403 AccessDenied, docs/gateway.md).
    assert unauthenticated.status_code == 403
    assert unauthenticated.json()["code"] == "AccessDenied"


def test_a_bad_year_is_named(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client(SUPPLIER) as owner:
        for year in ("twenty", "1800", "2101", ""):
            status, body = _get(owner, FIVE, year)
            assert status == 400, year
            assert b'"code":"BadRequest"' in body and b"query.year" in body, body
        missing = owner.get(f"/v1/sites/{FIVE}/zero-carbon")
        assert missing.status_code == 400 and "query.year" in missing.json()["message"]
        beyond = owner.get(f"/v1/sites/{FIVE}/zero-carbon?year=2024&atSize=999999")
        assert beyond.status_code == 400 and "atSize 999999" in beyond.json()["message"]


def test_a_repointed_site_row_is_refused_not_served(tmp_path: Path, db_url: str) -> None:
    """An insider points FIVE's 2024 retirement row at SUPPLIER_B's credits: a genuine
    record, but not one naming FIVE. It is refused as tampering (500), never counted."""
    with environment(tmp_path, db_url) as env:
        _setup(env)
        with engine(db_url) as eng, eng.begin() as conn:
            theirs = conn.execute(
                text("SELECT seq FROM site_input WHERE site = :s AND kind = 'retirement'"),
                {"s": THREE},
            ).scalar()
            changed = conn.execute(
                text(
                    "UPDATE site_input SET seq = :theirs WHERE site = :s AND kind = 'retirement' "
                    "AND seq = (SELECT MAX(seq) FROM site_input WHERE site = :s AND "
                    "kind = 'retirement')"
                ),
                {"theirs": theirs, "s": FIVE},
            ).rowcount
        assert changed == 1
        with env.client(BUYER) as buyer:
            answer = buyer.get(f"/v1/sites/{FIVE}/zero-carbon", params={"year": 2024})
    assert answer.status_code == 500
    assert "site_input index does not match" in answer.json()["message"]


def test_the_buyers_programme(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        _setup(env)
        env.submit(BUYER, cb.target(BUYER, SUPPLIER))
        with env.client(BUYER) as buyer, env.client(OTHER_BUYER) as other:
            programme = buyer.get("/v1/programmes/suppliers").json()
            earlier = buyer.get("/v1/programmes/suppliers?year=2023").json()
            nothing = other.get("/v1/programmes/suppliers").json()
            bad = buyer.get("/v1/programmes/suppliers?year=1")
    assert programme["buyer"] == BUYER
    rows = {
        s["supplier"]: [(e["site"], e["level"], e["factoryType"]) for e in s["sites"]]
        for s in programme["suppliers"]
    }
    assert rows == {
        SUPPLIER: [(FIVE, "five-star", "I")],
        SUPPLIER_B: [(THREE, "three-star", "I")],
        THIRD: [(UNBACKED, "none", None)],
    }
    by_org = {s["supplier"]: s for s in programme["suppliers"]}
    assert {s["year"] for s in programme["suppliers"]} == {2024}
    (unbacked,) = by_org[THIRD]["sites"]
    assert unbacked["renewable"]["unbackedClaimMWh"] == "400"
    assert [f["code"] for f in unbacked["flags"]] == ["unbacked-renewable-claim"]
    assert [a["status"] for a in by_org[SUPPLIER]["sites"][0]["attestations"]] == ["current"]
    assert by_org[SUPPLIER_B]["sites"][0]["offsetRatioPercent"] == "50"
    # Progress is the progress endpoint's: the buyer's own target for the supplier.
    assert [t["buyer"] for t in by_org[SUPPLIER]["progress"]["targets"]] == [BUYER]
    assert [t["buyer"] for t in by_org[SUPPLIER_B]["progress"]["targets"]] == []
    # A site's inventory is a part of the org: progress counts org-level inventories only.
    assert by_org[SUPPLIER]["progress"]["inventories"] == []
    assert {s["sites"][0]["year"] for s in earlier["suppliers"]} == {2023}
    assert nothing["suppliers"] == []
    assert bad.status_code == 400 and "query.year" in bad.json()["message"]


@pytest.mark.parametrize("revoke", [True, False])
def test_a_revoked_supplier_leaves_the_programme(tmp_path: Path, db_url: str, revoke: bool) -> None:
    with environment(tmp_path, db_url) as env:
        programme = record_programme(env)
        if revoke:
            env.revoke(SUPPLIER_B, programme.grants[SUPPLIER_B])
        with env.client(BUYER) as buyer:
            listed = [
                s["supplier"] for s in buyer.get("/v1/programmes/suppliers").json()["suppliers"]
            ]
    expected = sorted({SUPPLIER, SUPPLIER_B, THIRD} - ({SUPPLIER_B} if revoke else set()))
    assert listed == expected
