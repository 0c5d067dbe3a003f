"""API client rows are bound to the gateway key, which lives in the data directory, not
the database (red team, 2026-12-07, F2 and F3). An insider who could write the
``gw_api_client`` table re-pointed a buyer's client to the auditor org, or added a
client for any org the way ``carbonledger clients add`` does, and read everything as
that org, health green. Through a real ledger and gateway on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from tests.ledger_fixtures import AUDITOR, BUYER
from tests.test_gateway_support import Env, environment


def _token_status(env: Env, client_id: str, secret: str) -> int:
    answer = httpx.post(
        f"{env.url}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        verify=env.verify,
    )
    return answer.status_code


_REPOINT = "UPDATE gw_api_client SET org_id = :o WHERE client_id = :c"


def _sql(env: Env, statement: str, **params: object) -> None:
    with env.server.db.write_engine.begin() as conn:
        conn.execute(text(statement), params)


def test_a_client_row_re_pointed_to_another_org_authenticates_nothing(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        client_id, secret = env.credentials(BUYER)
        assert _token_status(env, client_id, secret) == 200  # and the secret is now proven
        _sql(
            env, "UPDATE gw_api_client SET org_id = :o WHERE client_id = :c", o=AUDITOR, c=client_id
        )
        assert _token_status(env, client_id, secret) == 401
        _sql(env, _REPOINT, o=BUYER, c=client_id)
        assert _token_status(env, client_id, secret) == 200  # the genuine row still works


@pytest.mark.parametrize("binding", ["none", "another client's"])
def test_a_client_row_written_by_hand_authenticates_nothing(
    tmp_path: Path, db_url: str, binding: str
) -> None:
    with environment(tmp_path, db_url) as env:
        genuine, _ = env.credentials(BUYER)
        forged, secret = "forged-client", "a-secret-the-insider-chose"
        _sql(
            env,
            "INSERT INTO gw_api_client (client_id, org_id, secret_hash, created_us) "
            "VALUES (:c, :o, :h, :t)",
            c=forged,
            o=AUDITOR,
            h=PasswordHasher().hash(secret),
            t=time.time_ns() // 1000,
        )
        if binding == "another client's":
            _sql(
                env,
                "INSERT INTO gw_api_client_binding (client_id, mac) "
                "SELECT :c, mac FROM gw_api_client_binding WHERE client_id = :g",
                c=forged,
                g=genuine,
            )
        assert _token_status(env, forged, secret) == 401
