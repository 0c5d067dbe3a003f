"""The gateway over HTTPS with a self-signed certificate: token flow and reads."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from tests.ledger_fixtures import AUDITOR, SUPPLIER
from tests.test_gateway_support import environment, self_signed


def test_https_with_a_self_signed_certificate(tmp_path: Path, db_url: str) -> None:
    cert, key = self_signed(tmp_path)
    with environment(tmp_path, db_url, tls=(cert, key)) as env:
        assert env.url.startswith("https://127.0.0.1:")
        fid, _ = env.footprint(SUPPLIER, "urn:pact:product:recycler-a:tls")
        with env.client(AUDITOR) as auditor:  # the token is fetched over HTTPS too
            answer = auditor.get(f"/3/footprints/{fid}")
            assert answer.status_code == 200 and answer.json()["data"]["id"] == fid
            assert auditor.get("/v1/checkpoint").text.startswith("carbonledger.local/log\n")
        # A client that does not trust the certificate cannot talk to it ...
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=True) as untrusting:
            untrusting.get(f"{env.url}/healthz")
        # ... and plain HTTP to the TLS port gets no HTTP answer.
        with pytest.raises(httpx.HTTPError), httpx.Client() as plain:
            plain.get(env.url.replace("https://", "http://") + "/healthz")
        context = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"{env.url}/healthz", verify=context).json() == {"status": "ok"}
