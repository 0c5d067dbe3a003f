"""Two ``serve`` processes on one PostgreSQL database: an identity change made through
one is in force in the other within two seconds, though the other writes nothing
(issue 12, item 3). Each process follows the log's identity entries
(``ledger.committed_identity``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.datadir import DEFAULT_OPERATOR_ORG as OPERATOR
from ledger.datadir import DataDir
from ledger.keys import encode_public_key, key_id, new_private_key
from tests.cli_process import run_cli, serving
from tests.ledger_fixtures import read_status

ORG = "urn:pact:company:customcode:followed"

BOUND_SECONDS = 2.0


def _within(seconds: float, condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds before ``seconds`` have passed (polled)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_enrolment_and_revocation_reach_the_other_process(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    with (
        serving(data, "--db", postgres_url) as first,
        serving(data, "--db", postgres_url) as second,
    ):
        signer = OrgSigner(ORG, new_private_key())
        assert read_status(second["grpc"], signer) == grpc.StatusCode.UNAUTHENTICATED

        enrolled = run_cli(
            "org", "enroll", "--org", ORG, "--name", "Followed", "--role", "auditor",
            "--public-key", encode_public_key(signer.public_key),
            "--data-dir", str(data), "--ledger", first["grpc"],
        )  # fmt: skip
        assert enrolled.returncode == 0, enrolled.stderr
        assert read_status(first["grpc"], signer) == grpc.StatusCode.OK
        assert _within(
            BOUND_SECONDS, lambda: read_status(second["grpc"], signer) == grpc.StatusCode.OK
        )

        operator = OrgSigner(OPERATOR, DataDir(data).operator_key())
        revoke = new_entry("key.revoke", OPERATOR, orgId=ORG, keyId=key_id(signer.public_key).hex())
        with LedgerClient(first["grpc"]) as client:
            client.submit(operator.sign(revoke))
        assert read_status(first["grpc"], signer) == grpc.StatusCode.UNAUTHENTICATED
        assert _within(
            BOUND_SECONDS,
            lambda: read_status(second["grpc"], signer) == grpc.StatusCode.UNAUTHENTICATED,
        )
