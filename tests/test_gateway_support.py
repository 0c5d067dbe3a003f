"""Helpers for the gateway tests: a ledger and its gateway on loopback ports, orgs,
API clients, footprints and a PACT callback receiver. (No tests here.)"""

from __future__ import annotations

import copy
import datetime as dt
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, Response

from clients.sdk import LedgerClient, OrgSigner, new_entry
from gateway.app import create_app
from gateway.auth import add_client
from gateway.callback_credentials import register_callback
from gateway.context import GatewayContext
from gateway.key_binding import client_binding
from gateway.server import HttpServer
from ledger.server import LedgerServer
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll, operator_of, running_server

OTHER_BUYER = "urn:pact:company:customcode:other-buyer"
SUPPLIER_B = "urn:pact:company:customcode:cathode-b"
FAST = {"retry_base": 0.05, "retry_max": 0.2, "poll_interval": 0.05, "reexamine_interval": 0.1}


def footprint_entry(
    org: str,
    product: str,
    *,
    fid: str | None = None,
    preceding: list[str] | None = None,
    geography: tuple[str, str] = ("geographyCountry", "CN"),
    classification: str = "urn:pact:productclassification:un-cpc:46410",
    ref_end: str = "2025-01-01T00:00:00Z",
    validity: tuple[str, str] | None = None,
    unit: str = "kilowatt hour",
    batch: str | None = None,
) -> dict[str, Any]:
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": unit,
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": "1" if unit == "kilogram" else "5.5",
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": ref_end,
        geography[0]: geography[1],
        "boundaryProcessesDescription": "Cradle to gate",
        "pcfExcludingBiogenicUptake": "71.4",
        "pcfIncludingBiogenicUptake": "71.4",
        "fossilGhgEmissions": "71.4",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
        "exemptedEmissionsPercent": "0",
        "primaryDataShare": "62.5",
        "dqi": {"technologicalDQR": "1.8", "geographicalDQR": "1.5", "temporalDQR": "1.2"},
    }
    fp: dict[str, Any] = {
        "id": fid or str(uuid.uuid4()),
        "specVersion": "3.0.0",
        "created": "2025-03-01T00:00:00Z",
        "status": "Active",
        "companyName": org.rsplit(":", 1)[-1],
        "companyIds": [org],
        "productDescription": "LFP prismatic cell",
        "productIds": [product],
        "productClassifications": [classification],
        "productNameCompany": "LFP-280",
        "pcf": pcf,
    }
    if preceding:
        fp["precedingPfIds"] = preceding
    if validity:
        fp["validityPeriodStart"], fp["validityPeriodEnd"] = validity
    composition: dict[str, Any] = {
        "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": "0.9"}],
        "inputs": [],
    }
    if batch:
        composition["batchId"] = batch
    return new_entry("footprint", org, footprint=fp, composition=composition)


@dataclass
class Env:
    server: LedgerServer
    http: HttpServer
    ledger: LedgerClient
    operator: OrgSigner
    orgs: dict[str, OrgSigner] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    verify: bool | ssl.SSLContext = True

    @property
    def url(self) -> str:
        return self.http.url

    def submit(self, org: str, entry: dict[str, Any]) -> Any:
        return self.ledger.submit(self.orgs[org].sign(entry))

    def footprint(self, org: str, product: str, **kw: Any) -> tuple[str, Any]:
        entry = footprint_entry(org, product, **kw)
        receipt = self.submit(org, entry)
        return entry["footprint"]["id"], receipt

    def deprecate(self, org: str, footprint_id: str) -> Any:
        entry = new_entry("footprint.deprecate", org, footprintId=footprint_id, reason="withdrawn")
        return self.submit(org, entry)

    def grant(self, grantor: str, grantee: str, level: str = "summary", **target: Any) -> str:
        entry = new_entry("grant", grantor, grantee=grantee, level=level, **target)
        self.submit(grantor, entry)
        return str(entry["entryId"])

    def revoke(self, grantor: str, grant_id: str) -> None:
        self.submit(grantor, new_entry("grant.revoke", grantor, grantId=grant_id))

    def credentials(self, org: str) -> tuple[str, str]:
        binding = client_binding(self.server.db, self.server.data_dir.path)
        created = add_client(self.server.db, binding, org)
        return created.client_id, created.client_secret

    def token(self, org: str) -> str:
        if org not in self.tokens:
            client_id, secret = self.credentials(org)
            answer = httpx.post(
                f"{self.url}/auth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
                verify=self.verify,
            )
            assert answer.status_code == 200, answer.text
            self.tokens[org] = answer.json()["access_token"]
        return self.tokens[org]

    def client(self, org: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(org)}"} if org else {}
        return httpx.Client(base_url=self.url, headers=headers, verify=self.verify, timeout=30)


@contextmanager
def gateway(
    data_dir: Path,
    db_url: str,
    *,
    tls: tuple[Path, Path] | None = None,
    server: LedgerServer | None = None,
    witnesses: tuple[str, ...] = (),
    **options: Any,
) -> Iterator[tuple[LedgerServer, HttpServer]]:
    """A gateway over ``server`` (or over a new ledger server trusting ``witnesses``)."""
    if server is None:
        with (
            running_server(data_dir, db_url, witnesses=witnesses) as started,
            gateway(data_dir, db_url, tls=tls, server=started, **options) as pair,
        ):
            yield pair
        return
    app = create_app(GatewayContext.from_server(server, **{**FAST, **options}))
    http = HttpServer(
        app, "127.0.0.1", 0, tls_cert=tls[0] if tls else None, tls_key=tls[1] if tls else None
    )
    http.start()
    try:
        yield server, http
    finally:
        http.stop()


@contextmanager
def environment(
    data_dir: Path,
    db_url: str,
    *,
    tls: tuple[Path, Path] | None = None,
    witnesses: tuple[str, ...] = (),
    **options: Any,
) -> Iterator[Env]:
    """A ledger (trusting the cosigners ``witnesses``) with a supplier, a second
    supplier, two buyers and an auditor, and its gateway."""
    with (
        gateway(data_dir, db_url, tls=tls, witnesses=witnesses, **options) as (server, http),
        LedgerClient(server.grpc_target) as ledger,
    ):
        operator = operator_of(server)
        env = Env(
            server,
            http,
            ledger,
            operator,
            verify=ssl.create_default_context(cafile=str(tls[0])) if tls else True,
        )
        for org, role in (
            (SUPPLIER, "supplier"),
            (SUPPLIER_B, "supplier"),
            (BUYER, "buyer"),
            (OTHER_BUYER, "buyer"),
            (AUDITOR, "auditor"),
        ):
            env.orgs[org] = enroll(ledger, operator, org, role)
        yield env


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Receiver:
    """A requester's PACT host: a token endpoint and events endpoints that record what
    they receive and set ``arrived``. ``fail_first`` answers that many events with 503;
    ``tls`` (certificate, key) serves it over HTTPS."""

    CLIENT_ID = "ledger-at-buyer"
    SECRET = "receiver-secret-" + "x" * 16

    def __init__(self, fail_first: int = 0, tls: tuple[Path, Path] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.arrived = threading.Event()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.expected = 1
        app = FastAPI()

        @app.post("/auth/token")
        def token(
            grant_type: str = Form(), authorization: str | None = Header(None)
        ) -> JSONResponse:
            import base64

            expected = base64.b64encode(f"{self.CLIENT_ID}:{self.SECRET}".encode()).decode()
            if authorization != f"Basic {expected}" or grant_type != "client_credentials":
                return JSONResponse({"error": "invalid_client"}, 401)
            return JSONResponse({"access_token": "receiver-token", "token_type": "Bearer"})

        async def events(request: Request) -> Response:
            if request.headers.get("authorization") != "Bearer receiver-token":
                return JSONResponse({"code": "AccessDenied", "message": "no"}, 403)
            with self.lock:
                self.attempts += 1
                if self.attempts <= self.fail_first:
                    return Response(status_code=503)
                self.events.append(json.loads(await request.body()))
                self.paths.append(request.url.path)
                if len(self.events) >= self.expected:
                    self.arrived.set()
                self.changed.notify_all()
            return Response(status_code=200)

        app.add_api_route("/3/events", events, methods=["POST"])
        app.add_api_route("/2/events", events, methods=["POST"])
        self.http = HttpServer(
            app, "127.0.0.1", 0, tls_cert=tls[0] if tls else None, tls_key=tls[1] if tls else None
        )

    def register(self, env: Env, data_dir: Path, org: str, url: str | None = None) -> None:
        """Register this receiver (or ``url``) as ``org``'s events endpoint."""
        register_callback(
            env.server.db, data_dir, org, url or self.http.url, self.CLIENT_ID, self.SECRET
        )

    def expect(self, count: int) -> None:
        with self.lock:
            self.expected = count
            if len(self.events) < count:
                self.arrived.clear()

    def wait(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        self.expect(count)
        assert self.arrived.wait(timeout), f"only {len(self.events)} of {count} events arrived"
        return copy.deepcopy(self.events)

    def answer_to(self, request_event_id: str, timeout: float = 20) -> tuple[str, dict[str, Any]]:
        """(path, event) of the first event answering ``request_event_id``, waiting for
        it to arrive; other events (answers to other requests) are left alone."""

        def found() -> int | None:
            for i, event in enumerate(self.events):
                if event.get("data", {}).get("requestEventId") == request_event_id:
                    return i
            return None

        with self.changed:
            arrived = self.changed.wait_for(lambda: found() is not None, timeout)
            index = found()
            assert arrived and index is not None, f"no answer to {request_event_id} arrived"
            return self.paths[index], copy.deepcopy(self.events[index])
