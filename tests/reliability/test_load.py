"""A bounded mixed load on loopback: ingest, reads over gRPC and HTTP, and repeated
incremental audits, all at once for a fixed time. No request may fail, and the
server's memory must stay flat once warm.

Duration: ``CARBONLEDGER_LOAD_SECONDS`` (default 20).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from clients.audit.grpc_source import GrpcSource
from clients.audit.run import run_audit
from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from ledger.keys import encode_public_key, load_private_key, new_private_key
from ledger.note import NoteVerifier
from tests.reliability.server_process import ServeProcess

pytestmark = pytest.mark.reliability

SECONDS = float(os.environ.get("CARBONLEDGER_LOAD_SECONDS", "20"))


def _rss_kib(pid: int) -> int:
    """Resident memory of the server and its verification workers."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def test_mixed_load_has_no_errors_and_flat_memory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServeProcess(data, None)
    errors: list[BaseException] = []
    stop = threading.Event()
    operator = OrgSigner("urn:carbonledger:org:operator", load_private_key(data / "operator.key"))
    suppliers = [
        OrgSigner(f"urn:pact:company:customcode:load-{i}", new_private_key()) for i in range(2)
    ]
    auditor = OrgSigner("urn:pact:company:customcode:load-auditor", new_private_key())
    with LedgerClient(server.grpc) as client:
        for signer, role in [*((s, "supplier") for s in suppliers), (auditor, "auditor")]:
            client.submit(
                operator.sign(
                    new_entry(
                        "org.enroll",
                        operator.org,
                        orgId=signer.org,
                        name=signer.org,
                        roles=[role],
                        publicKey=encode_public_key(signer.public_key),
                    )
                )
            )

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                while not stop.is_set():
                    work()
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        return run

    counts = {"ingested": 0, "reads": 0, "audits": 0}

    def ingest(signer: OrgSigner) -> Callable[[], None]:
        def work() -> None:
            entries = [
                signer.sign(
                    new_entry(
                        "inventory",
                        signer.org,
                        reportingYear=2024,
                        scope1TCO2e=str(i),
                        scope2TCO2e="1",
                        electricityMWh="10",
                        renewableElectricityMWh="2",
                    )
                )
                for i in range(200)
            ]
            with LedgerClient(server.grpc, window=64, stream_timeout=60) as client:
                for result in client.submit_stream(entries):
                    if isinstance(result, Rejected):
                        raise AssertionError(str(result))
                    counts["ingested"] += 1

        return work

    def read() -> None:
        with LedgerClient(server.grpc) as client, httpx.Client(base_url=server.info["http"]) as web:
            for _ in range(50):
                checkpoint = client.checkpoint()
                client.inclusion_proof(checkpoint.size - 1, checkpoint.size)
                response = web.get("/v1/checkpoint")
                assert response.status_code == 200, response.text
                counts["reads"] += 1

    verifier = NoteVerifier.from_vkey(server.info["ledger-key"])

    def audit() -> None:
        source = GrpcSource(server.grpc, auditor.org, auditor.private_key)
        try:
            report = run_audit(source, verifier, tmp_path / "audit-state", workers=1)
        finally:
            source.close()
        assert report.ok, report.failures[:3]
        counts["audits"] += 1

    threads = [
        threading.Thread(target=guarded(w), daemon=True)
        for w in (*(ingest(s) for s in suppliers), read, read, audit)
    ]
    for thread in threads:
        thread.start()
    samples: list[int] = []
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        samples.append(_rss_kib(server.proc.pid))
        stop.wait(SECONDS / 40)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    server.stop()

    assert not errors, errors[0]
    assert counts["ingested"] > 0 and counts["reads"] > 0 and counts["audits"] > 1, counts
    warm = max(samples[len(samples) // 4 : len(samples) // 2])
    late = max(samples[-len(samples) // 4 :])
    assert late <= warm * 1.25 + 16 * 1024, f"memory grew from {warm} to {late} KiB: {samples}"
