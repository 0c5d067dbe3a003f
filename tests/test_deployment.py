"""The documented two-process deployment on PostgreSQL (docs/operations.md, "A
two-process deployment, step by step"), run as an operator would: the first ``serve``
creates the data directory, the second gets a copy of its keys, both share one
database. Tokens issued by one gateway work at the other, submissions through both make
one gap-free log, and an offline audit of the database passes (issue 16, item 5)."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.keys import encode_public_key, new_private_key
from ledger.receipt import Receipt
from tests.cli_process import run_cli, serving

ORIGIN = "ledger.example.com/log"
SUPPLIER = "urn:pact:company:customcode:deployed-supplier"
BUYER = "urn:pact:company:customcode:deployed-buyer"


def _enroll(data: Path, grpc_target: str, org: str, role: str) -> OrgSigner:
    signer = OrgSigner(org, new_private_key())
    enrolled = run_cli(
        "org", "enroll", "--org", org, "--name", org.rsplit(":", 1)[-1], "--role", role,
        "--public-key", encode_public_key(signer.public_key),
        "--data-dir", str(data), "--ledger", grpc_target,
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    return signer


def _grants(supplier: OrgSigner, count: int, tag: str) -> list[dict[str, object]]:
    return [
        new_entry("grant", supplier.org, grantee=f"urn:x:{tag}-{n}", inventory=True)
        for n in range(count)
    ]


def test_two_processes_on_one_database_as_documented(tmp_path: Path, postgres_url: str) -> None:
    first_dir, second_dir = tmp_path / "host1", tmp_path / "host2"
    db = ("--db", postgres_url, "--origin", ORIGIN)
    with serving(first_dir, *db) as first:
        shutil.copytree(first_dir, second_dir)  # step 3: the same keys on the second host
        with serving(second_dir, *db) as second:
            assert first["ledger-key"] == second["ledger-key"]
            for host in (first, second):
                assert httpx.get(f"{host['http']}/healthz").json() == {"status": "ok"}

            supplier = _enroll(second_dir, second["grpc"], SUPPLIER, "supplier")
            _enroll(first_dir, first["grpc"], BUYER, "buyer")

            # Submissions through both processes at once make one log.
            def submit(target: str, tag: str) -> list[Receipt]:
                with LedgerClient(target) as client:
                    signed = [supplier.sign(e) for e in _grants(supplier, 150, tag)]
                    return [
                        r
                        for r in client.submit_batches(signed, batch_size=50)
                        if isinstance(r, Receipt)
                    ]

            with ThreadPoolExecutor(2) as pool:
                one = pool.submit(submit, first["grpc"], "a")
                two = pool.submit(submit, second["grpc"], "b")
                receipts = one.result() + two.result()
            seqs = sorted(r.seq for r in receipts)
            assert len(seqs) == 300 and seqs == list(range(seqs[0], seqs[0] + 300))

            # A token from one gateway is accepted by the other.
            created = run_cli(
                "clients", "add", "--org", BUYER, "--data-dir", str(first_dir), *db[:2]
            )
            assert created.returncode == 0, created.stderr
            credentials = json.loads(created.stdout)
            token = run_cli(
                "token", "--gateway", first["http"], "--client-id", credentials["clientId"],
                "--client-secret", credentials["clientSecret"],
            )  # fmt: skip
            assert token.returncode == 0, token.stderr
            bearer = {"Authorization": f"Bearer {token.stdout.strip()}"}
            for host in (first, second):
                assert httpx.get(f"{host['http']}/3/footprints", headers=bearer).status_code == 200

            # Both processes sign the same checkpoint key; an offline audit passes.
            for host in (first, second):
                shown = run_cli("checkpoint", "--ledger", host["grpc"])
                assert shown.returncode == 0 and shown.stdout.startswith(ORIGIN), shown.stdout
            vkey = run_cli("ledger-key", "--data-dir", str(second_dir), "--origin", ORIGIN)
            assert vkey.stdout.strip() == first["ledger-key"]
            audit = run_cli("audit", "--db", postgres_url, "--ledger-key", vkey.stdout.strip())
            assert audit.returncode == 0, audit.stdout + audit.stderr
