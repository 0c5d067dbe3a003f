"""A realistic ledger for audit tests, and the audits of an untouched ledger.

The mix: enrolments (supplier, second supplier, buyer, verifier, auditor), the
default factor set, footprints with a composition (grid electricity input,
and a second footprint consuming the first), a supplier key rotation, a
verifier's attestation, a grant, certificate and credit retirements. Other
audit test modules build on :func:`populate`.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from clients.audit.db_source import DbSource
from clients.audit.grpc_source import GrpcSource
from clients.audit.model import ReadRefused
from clients.audit.report import AuditReport
from clients.audit.run import run_audit
from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.entries.carbon import load_default_factors
from ledger.keys import encode_public_key, new_private_key
from ledger.note import NoteVerifier
from ledger.server import LedgerServer
from ledger.store.database import sqlite_url
from ledger.store.derived import derived_tables
from tests import carbon_builders as cb
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER, enroll, operator_of, running_server

DATA = Path(__file__).parent / "data" / "entries"
SUPPLIER_B = "urn:pact:company:customcode:cathode-co"
VERIFIER = "urn:pact:company:customcode:verifier-v"
PRODUCT_A = "urn:pact:recycler.example.com:supplier-id:li2co3-bg"
PRODUCT_B = "urn:pact:cathode.example.com:supplier-id:lfp-cathode"


def footprint(
    org: str, product: str, inputs: list[dict[str, Any]], pcf: str | None = None
) -> dict[str, Any]:
    """A PACT v3 footprint of ``org``'s ``product`` with its composition."""
    body = copy.deepcopy(json.loads((DATA / "footprint-lfp-cell.json").read_text())["footprint"])
    body.pop("precedingPfIds", None)
    body.update(id=str(uuid.uuid4()), companyIds=[org], productIds=[product])
    if pcf is not None:
        for member in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake"):
            body["pcf"][member] = pcf
        body["pcf"]["fossilGhgEmissions"] = pcf
    composition = {
        "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": "0.9"}],
        "inputs": inputs,
    }
    return new_entry("footprint", org, footprint=body, composition=composition)


def retirement(org: str, registry: str, kind: str, first: str, last: str) -> dict[str, Any]:
    """``org`` retires from its account (bound with ``cb.registry_account``)."""
    return cb.retirement(org, registry, first, last, kind=kind)


@dataclass
class Ledger:
    """The orgs of a populated ledger, with their current signers."""

    operator: OrgSigner
    supplier: OrgSigner
    supplier_old: OrgSigner
    buyer: OrgSigner
    auditor: OrgSigner
    seqs: dict[str, int]
    footprint_id: str
    grant_id: str


def populate(client: LedgerClient, server: LedgerServer) -> Ledger:
    operator = operator_of(server)
    supplier_old = enroll(client, operator, SUPPLIER, "supplier")
    supplier_b = enroll(client, operator, SUPPLIER_B, "supplier")
    buyer = enroll(client, operator, BUYER, "buyer")
    verifier = enroll(client, operator, VERIFIER, "verifier")
    auditor = enroll(client, operator, AUDITOR, "auditor")
    seqs: dict[str, int] = {}
    client.submit(
        operator.sign(new_entry("factors.publish", operator.org, **load_default_factors()))
    )
    grid = {
        "factor": {"setId": "cn-default", "version": "2024.1", "key": "electricity-grid-cn"},
        "amount": "12.5",
        "unit": "kilowatt hour",
    }
    # Declared as its composition computes: 0.9 own + 12.5 kWh x 0.5366 kgCO2e/kWh.
    fp_a = footprint(SUPPLIER, PRODUCT_A, [grid], pcf="7.6075")
    seqs["footprint"] = client.submit(supplier_old.sign(fp_a)).seq
    supplier = OrgSigner(SUPPLIER, new_private_key())
    rotation = new_entry(
        "key.rotate",
        SUPPLIER,
        orgId=SUPPLIER,
        newPublicKey=encode_public_key(supplier.public_key),
    )
    seqs["rotation"] = client.submit(supplier_old.sign(rotation)).seq
    upstream = {"footprintId": fp_a["footprint"]["id"], "amount": "0.4", "unit": "kilowatt hour"}
    # Citing another org's footprint needs its owner's grant.
    consent = new_entry(
        "grant", SUPPLIER, grantee=SUPPLIER_B, footprintId=fp_a["footprint"]["id"], level="summary"
    )
    seqs["consent"] = client.submit(supplier.sign(consent)).seq
    seqs["footprint_b"] = client.submit(
        supplier_b.sign(footprint(SUPPLIER_B, PRODUCT_B, [upstream]))
    ).seq
    # A verifier attests what it may read in detail.
    to_verifier = new_entry(
        "grant", SUPPLIER, grantee=VERIFIER, footprintId=fp_a["footprint"]["id"], level="detail"
    )
    seqs["verifier_grant"] = client.submit(supplier.sign(to_verifier)).seq
    attestation = new_entry(
        "attestation",
        VERIFIER,
        footprintEntryId=fp_a["entryId"],
        standard="ISO14067",
        assuranceLevel="limited",
        boundary="cradle-to-gate",
        validFrom="2025-05-01T00:00:00Z",
        validUntil="2026-05-01T00:00:00Z",
    )
    seqs["attestation"] = client.submit(verifier.sign(attestation)).seq
    grant = new_entry("grant", SUPPLIER, grantee=BUYER, productId=PRODUCT_A, level="summary")
    seqs["grant"] = client.submit(supplier.sign(grant)).seq
    # A target and an inventory grant: their index rows must match the audit's too.
    target = cb.target(BUYER, SUPPLIER, scopes=["1"])
    client.submit(buyer.sign(target))
    window = {"validFrom": "2025-01-01T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"}
    client.submit(supplier.sign(cb.inventory_grant(SUPPLIER, BUYER, **window)))
    for registry, holder, issued in (
        ("cn-gec", BUYER, ("GEC202400000001", "GEC202400009999")),
        ("cn-ccer", SUPPLIER, ("CCER-2024-000001", "CCER-2024-000999")),
    ):
        account = cb.registry_account(operator.org, registry, holder, serials=[issued])
        client.submit(operator.sign(account))
    gec = retirement(BUYER, "cn-gec", "GEC", "GEC202400000001", "GEC202400001575")
    seqs["gec"] = client.submit(buyer.sign(gec)).seq
    ccer = retirement(SUPPLIER, "cn-ccer", "CCER", "CCER-2024-000001", "CCER-2024-000500")
    seqs["ccer"] = client.submit(supplier.sign(ccer)).seq
    return Ledger(
        operator,
        supplier,
        supplier_old,
        buyer,
        auditor,
        seqs,
        fp_a["footprint"]["id"],
        grant["entryId"],
    )


def grpc_audit(
    server: LedgerServer,
    auditor: OrgSigner,
    state: Path | None,
    vkey: str | None = None,
    **kwargs: Any,
) -> AuditReport:
    """Audit over gRPC, pinning ``vkey`` (default: the key the server signs with now)."""
    source = GrpcSource(server.grpc_target, auditor.org, auditor.private_key)
    verifier = NoteVerifier.from_vkey(vkey or server.vkey)
    try:
        return run_audit(source, verifier, state, workers=2, **kwargs)
    finally:
        source.close()


def db_audit(db_url: str, vkey: str, state: Path | None, **kwargs: Any) -> AuditReport:
    source = DbSource(db_url)
    try:
        return run_audit(source, NoteVerifier.from_vkey(vkey), state, workers=2, **kwargs)
    finally:
        source.close()


def index_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the carbon index tables, normalised for comparison across backends."""
    engine = create_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in derived_tables():
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(
                (tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows),
                key=repr,
            )
    engine.dispose()
    return out


def test_untouched_ledger_passes_full_then_incremental(tmp_path: Path, db_url: str) -> None:
    state = tmp_path / "state"
    with (
        running_server(tmp_path / "data", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        ledger = populate(client, server)
        first = grpc_audit(server, ledger.auditor, state)
        assert first.ok, first.to_text()
        assert not first.incremental and first.entries_checked == first.checkpoint_size
        assert first.checkpoint_size == ledger.seqs["ccer"] + 1
        assert first.state_saved and (state / "audit-state.sqlite3").exists()

        # Check 8: footprint B (0.9 own + 0.4 x A) declares the example's 71.4.
        assert first.footprints is not None
        found = {f.seq: f for f in first.footprints}
        assert set(found) == {ledger.seqs["footprint"], ledger.seqs["footprint_b"]}
        a, b = found[ledger.seqs["footprint"]], found[ledger.seqs["footprint_b"]]
        assert a.computed == pytest.approx(7.6075) and not a.flagged
        assert b.computed == pytest.approx(0.9 + 0.4 * 7.6075) and b.flagged
        assert b.declared == 71.4 and b.relative_difference == pytest.approx(3.943 / 71.4 - 1)
        per = f"kgCO2e per {b.declared_unit}"
        assert f"declared 71.4 {per}, computed 3.943 {per}" in str(b)

        # The facts the full audit derived are the rows the sequencer wrote.
        assert index_rows(f"sqlite:///{state / 'audit-state.sqlite3'}") == index_rows(db_url)

        more = retirement(ledger.buyer.org, "cn-gec", "GEC", "GEC202400002001", "GEC202400002010")
        client.submit(ledger.buyer.sign(more))
        deprecate = new_entry(
            "footprint.deprecate", SUPPLIER, footprintId=ledger.footprint_id, reason="recalculated"
        )
        client.submit(ledger.supplier.sign(deprecate))
        revoke = new_entry("grant.revoke", SUPPLIER, grantId=ledger.grant_id)
        client.submit(ledger.supplier.sign(revoke))
        second = grpc_audit(server, ledger.auditor, state)
        assert second.ok, second.to_text()
        assert second.incremental and second.entries_checked == 3
        assert second.previous_size == first.checkpoint_size
        assert second.footprints is None and "--from-scratch" in " ".join(second.notes)
        assert index_rows(f"sqlite:///{state / 'audit-state.sqlite3'}") == index_rows(db_url)
        third = grpc_audit(server, ledger.auditor, state, from_scratch=True)
        assert third.ok and not third.incremental and third.state_saved
        # Footprint A was deprecated: only B is active, now with nothing upstream of it.
        assert third.footprints is not None and [f.seq for f in third.footprints] == [b.seq]
        assert index_rows(f"sqlite:///{state / 'audit-state.sqlite3'}") == index_rows(db_url)

        # The saved carbon view still knows the earlier retirements: serials retired
        # twice are refused by the ledger, so nothing new is recorded.
        offline = db_audit(db_url, server.vkey, None)
        assert offline.ok, offline.to_text()
        assert offline.entries_checked == second.checkpoint_size


def test_audit_needs_the_auditor_role_to_read_everything(tmp_path: Path) -> None:
    with (
        running_server(tmp_path, sqlite_url(tmp_path)) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        ledger = populate(client, server)
        # A buyer would see only its own records, which an audit would take for gaps:
        # the ledger refuses it the whole log instead, and the audit says why.
        with pytest.raises(ReadRefused, match="auditor role"):
            grpc_audit(server, ledger.buyer, None)


def test_report_json_lists_failures(tmp_path: Path) -> None:
    report = AuditReport(origin="o", checkpoint_size=3)
    assert report.to_json()["ok"] is True
    assert "OK" in report.to_text()
    assert pytest.approx(report.seconds) == 0.0
