"""Issue 14, finding 8: an audit by an org that may not read the whole log is a
refusal of its credentials (exit 4), not a report of records withheld.

The ledger streams each org only the entries it may read; an auditor that asked
as a supplier used to receive a partial log and report thousands of "missing"
records (exit 1). The auditor now asks for the whole log, and the ledger
refuses that to an org without a read-all role (PERMISSION_DENIED), over a real
server on both backends, while ordinary reads keep their visibility filter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.audit.model import ReadRefused
from clients.audit.rpc import LedgerRpc
from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.datadir import DEFAULT_OPERATOR_ORG, DataDir
from ledger.keys import save_private_key
from tests.cli_process import run_cli, serving
from tests.ledger_fixtures import enroll, running_server

SUPPLIER = "urn:pact:company:customcode:supplier"
AUDITOR = "urn:pact:company:customcode:auditor"
CREDENTIALS = 4  # docs/api.md, "CLI exit codes"


def _own_entry(client: LedgerClient, signer: OrgSigner) -> int:
    inventory = new_entry(
        "inventory",
        signer.org,
        reportingYear=2024,
        scope1TCO2e="1",
        scope2TCO2e="1",
        electricityMWh="2",
        renewableElectricityMWh="1",
    )
    return client.submit(signer.sign(inventory)).seq


def test_the_ledger_refuses_the_whole_log_to_a_non_auditor(tmp_path: Path, db_url: str) -> None:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        operator = OrgSigner(server.config.operator_org, server.data_dir.operator_key())
        supplier = enroll(client, operator, SUPPLIER, "supplier")
        auditor = enroll(client, operator, AUDITOR, "auditor")
        own = _own_entry(client, supplier)
        size = server.store.tree_size()

        as_supplier = LedgerRpc(server.grpc_target, SUPPLIER, supplier.private_key)
        try:
            with pytest.raises(ReadRefused, match="auditor"):
                list(as_supplier.stream_entries(0, size))
        finally:
            as_supplier.close()
        as_auditor = LedgerRpc(server.grpc_target, AUDITOR, auditor.private_key)
        try:
            assert [r.seq for r in as_auditor.stream_entries(0, size)] == list(range(size))
        finally:
            as_auditor.close()
        # Reads that do not ask for the whole log still see what the org may see.
        with LedgerClient(server.grpc_target, signer=supplier) as reader:
            assert [r.seq for r in reader.stream_entries(0)] == [own]


def test_an_audit_as_a_non_auditor_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data) as info, LedgerClient(info["grpc"]) as client:
        operator = OrgSigner(DEFAULT_OPERATOR_ORG, DataDir(data).operator_key())
        keys = {}
        for org, role in ((SUPPLIER, "supplier"), (AUDITOR, "auditor")):
            signer = enroll(client, operator, org, role)
            keys[org] = tmp_path / f"{role}.key"
            save_private_key(signer.private_key, keys[org])
        ledger = ("--ledger", info["grpc"], "--ledger-key", info["ledger-key"])

        refused = run_cli("audit", *ledger, "--key", str(keys[SUPPLIER]), "--org", SUPPLIER)
        lines = refused.stderr.splitlines()
        assert refused.returncode == CREDENTIALS, refused.stdout + refused.stderr
        assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert SUPPLIER in lines[0] and "PERMISSION_DENIED" in lines[0]
        assert "auditor role" in lines[0]
        assert "FAILED" not in refused.stdout

        audited = run_cli("audit", *ledger, "--key", str(keys[AUDITOR]), "--org", AUDITOR)
        assert audited.returncode == 0, audited.stdout + audited.stderr
