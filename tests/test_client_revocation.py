"""Revoking an API client: no new tokens, and every gateway process refuses its tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from clients.clients_cli import clients
from gateway.auth import add_client, revoke_client
from gateway.key_binding import client_binding
from gateway.revocation import RevokedClients
from gateway.tables import RevokedClientRow
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, environment, gateway

TOKEN_FORM = {"grant_type": "client_credentials"}


def _token(url: str, client_id: str, secret: str) -> str:
    answer = httpx.post(f"{url}/auth/token", data=TOKEN_FORM, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _read(url: str, token: str, footprint_id: str) -> httpx.Response:
    return httpx.get(
        f"{url}/3/footprints/{footprint_id}", headers={"Authorization": f"Bearer {token}"}
    )


def test_a_revoked_clients_tokens_are_refused_by_every_gateway(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url, revocation_refresh_seconds=0) as env:
        footprint_id, _ = env.footprint(SUPPLIER, "urn:pact:product:cell:lfp-280ah")
        env.grant(SUPPLIER, BUYER, productId="urn:pact:product:cell:lfp-280ah")
        env.grant(SUPPLIER, OTHER_BUYER, productId="urn:pact:product:cell:lfp-280ah")
        client_id, secret = env.credentials(BUYER)
        other_id, other_secret = env.credentials(OTHER_BUYER)
        with gateway(tmp_path, db_url, server=env.server, revocation_refresh_seconds=0) as (
            _,
            second,
        ):
            gateways = [env.url, second.url]
            token = _token(env.url, client_id, secret)
            other = _token(second.url, other_id, other_secret)
            assert [_read(url, token, footprint_id).status_code for url in gateways] == [200, 200]

            cli = ["--data-dir", str(tmp_path), "--db", db_url]
            listed = CliRunner().invoke(clients, ["list", "--org", BUYER, *cli])
            assert listed.exit_code == 0, listed.output
            assert [json.loads(line)["clientId"] for line in listed.output.splitlines()] == [
                client_id
            ]
            revoked = CliRunner().invoke(clients, ["revoke", client_id, *cli])
            assert revoked.exit_code == 0, revoked.output
            assert json.loads(revoked.output) == {"revoked": client_id, "org": BUYER}

            for url in gateways:
                refused = _read(url, token, footprint_id)
                assert refused.status_code == 403
                assert refused.json()["code"] == "AccessDenied"
                assert "revoked" in refused.json()["message"]
                # The other buyer's client is untouched.
                assert _read(url, other, footprint_id).status_code == 200
                login = httpx.post(f"{url}/auth/token", data=TOKEN_FORM, auth=(client_id, secret))
                assert login.status_code == 401 and login.json()["error"] == "invalid_client"

            listed = CliRunner().invoke(clients, ["list", *cli])
            ids = {json.loads(line)["clientId"] for line in listed.output.splitlines()}
            assert client_id not in ids and other_id in ids
            again = CliRunner().invoke(clients, ["revoke", client_id, *cli])
            assert again.exit_code != 0 and "no client" in again.output


def test_each_process_rereads_revocations_once_per_interval(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with environment(tmp_path, db_url) as env:
        db = env.server.db
        client = add_client(db, client_binding(db, env.server.data_dir.path), BUYER)
        revoked = RevokedClients(db.read, token_ttl=3600, refresh_seconds=60)
        assert client.client_id not in revoked
        assert revoke_client(db, client.client_id) is not None
        assert client.client_id not in revoked, "the copy read a moment ago still stands"
        now = time.monotonic()
        monkeypatch.setattr(time, "monotonic", lambda: now + 61)
        assert client.client_id in revoked
        # A revocation older than any token it could have issued is no longer read.
        with db.write_engine.begin() as conn:
            conn.execute(
                insert(RevokedClientRow.__table__).values(  # type: ignore[attr-defined]
                    client_id="long-gone",
                    org_id=BUYER,
                    revoked_us=(time.time_ns() // 1000) - 2 * 3600 * 1_000_000,
                )
            )
        monkeypatch.setattr(time, "monotonic", lambda: now + 122)
        assert "long-gone" not in revoked and client.client_id in revoked
