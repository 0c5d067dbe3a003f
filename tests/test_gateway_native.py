"""The native ``/v1`` API over loopback: checkpoint, RFC 9162 proofs, entries with
inclusion proofs (per access rules), and instrument retirements."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from clients.sdk import new_entry
from ledger.merkle import leaf_hash
from ledger.merkle.verify import verify_consistency, verify_inclusion
from ledger.note.checkpoint import open_checkpoint
from ledger.note.signed_note import NoteVerifier
from ledger.record import Record
from tests.carbon_builders import account_of, registry_account
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


def _retire(org: str, first: str, last: str, quantity: str) -> dict[str, Any]:
    return new_entry(
        "instrument.retire",
        org,
        registry="cn-gec",
        accountId=account_of(org),
        kind="GEC",
        serials={"first": first, "last": last},
        quantity=quantity,
        unit="MWh",
        vintage=2024,
        beneficiary={
            "org": org,
            "reportingPeriod": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        },
    )


def test_checkpoint_and_proofs_are_public_and_verify(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env, env.client() as http:
        _, receipt = env.footprint(SUPPLIER, PRODUCT)
        env.server.checkpointer.refresh()
        answer = http.get("/v1/checkpoint")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        verifier = NoteVerifier.from_vkey(env.server.vkey)
        checkpoint = open_checkpoint(answer.text, verifier)
        size = checkpoint.size
        assert size == receipt.seq + 1

        proof = http.get(
            "/v1/proofs/inclusion",
            params={"leafHash": receipt.leaf_hash.hex(), "treeSize": size},
        ).json()
        assert proof["leafIndex"] == receipt.seq and proof["treeSize"] == size
        verify_inclusion(
            receipt.leaf_hash,
            receipt.seq,
            size,
            [bytes.fromhex(h) for h in proof["proof"]],
            checkpoint.root_hash,
        )
        consistency = http.get("/v1/proofs/consistency", params={"first": 2, "second": size})
        assert consistency.status_code == 200
        verify_consistency(
            2,
            size,
            [bytes.fromhex(h) for h in consistency.json()["proof"]],
            env.server.store.root(2),
            checkpoint.root_hash,
        )
        errors = {
            "unknown leaf": (
                {"leafHash": "00" * 32, "treeSize": size},
                "/v1/proofs/inclusion",
                404,
                "NotFound",
            ),
            "leaf beyond size": (
                {"leafHash": receipt.leaf_hash.hex(), "treeSize": receipt.seq},
                "/v1/proofs/inclusion",
                400,
                "BadRequest",
            ),
            "size beyond tree": (
                {"leafHash": receipt.leaf_hash.hex(), "treeSize": size + 5},
                "/v1/proofs/inclusion",
                400,
                "BadRequest",
            ),
            "first after second": (
                {"first": size, "second": 2},
                "/v1/proofs/consistency",
                400,
                "BadRequest",
            ),
            "missing second": ({"first": 1}, "/v1/proofs/consistency", 400, "BadRequest"),
        }
        for name, (params, path, status, code) in errors.items():
            failed = http.get(path, params=params)
            assert failed.status_code == status, name
            assert failed.json()["code"] == code, name


def test_entries_carry_exact_bytes_and_follow_access(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        fid, receipt = env.footprint(SUPPLIER, PRODUCT)
        env.server.checkpointer.refresh()
        record = env.server.store.record(receipt.seq)
        assert record is not None
        with (
            env.client(SUPPLIER) as owner,
            env.client(BUYER) as buyer,
            env.client(AUDITOR) as auditor,
            env.client(OTHER_BUYER) as other,
        ):
            got = owner.get(f"/v1/entries/{receipt.seq}").json()
            raw = base64.b64decode(got["entry"])
            assert raw == record.entry
            assert got["entryHash"] == hashlib.sha256(raw).hexdigest()
            leaf = Record(
                got["seq"],
                got["timestampUs"],
                bytes.fromhex(got["prevChainHash"]),
                bytes.fromhex(got["entryHash"]),
                bytes.fromhex(got["keyId"]),
                base64.b64decode(got["signature"]),
            )
            assert leaf_hash(leaf.leaf()).hex() == got["leafHash"] == receipt.leaf_hash.hex()
            assert got["chainHash"] == receipt.chain_hash.hex()
            inclusion = got["inclusion"]
            size = inclusion["treeSize"]
            verify_inclusion(
                receipt.leaf_hash,
                receipt.seq,
                size,
                [bytes.fromhex(h) for h in inclusion["proof"]],
                env.server.store.root(size),
            )
            stated = owner.get(f"/v1/entries/{receipt.seq}", params={"treeSize": receipt.seq})
            assert stated.status_code == 400
            assert auditor.get(f"/v1/entries/{receipt.seq}").status_code == 200
            # Summary grants do not reveal the entry (it carries the composition).
            assert buyer.get(f"/v1/entries/{receipt.seq}").json()["code"] == "NotFound"
            env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
            assert buyer.get(f"/v1/entries/{receipt.seq}").status_code == 404
            env.grant(SUPPLIER, BUYER, "detail", footprintId=fid)
            env.server.checkpointer.refresh()
            assert buyer.get(f"/v1/entries/{receipt.seq}").status_code == 200
            assert other.get(f"/v1/entries/{receipt.seq}").status_code == 404
            assert other.get("/v1/entries/999999").status_code == 404
            assert other.get("/v1/entries/0").status_code == 404  # the operator's genesis


def test_instrument_retirements(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        issued = [("GEC202400000001", "GEC202400009999")]
        account = registry_account(env.operator.org, "cn-gec", SUPPLIER, serials=issued)
        env.ledger.submit(env.operator.sign(account))
        entry = _retire(SUPPLIER, "GEC202400000001", "GEC202400001575", "1575")
        receipt = env.submit(SUPPLIER, entry)
        with (
            env.client(SUPPLIER) as owner,
            env.client(AUDITOR) as auditor,
            env.client(BUYER) as buyer,
        ):
            found = owner.get("/v1/instruments/cn-gec/GEC202400000777").json()
            assert found["seq"] == receipt.seq and found["entryId"] == entry["entryId"]
            assert found["first"] == "GEC202400000001" and found["last"] == "GEC202400001575"
            assert auditor.get("/v1/instruments/cn-gec/GEC202400001575").status_code == 200
            for who, path in (
                (owner, "/v1/instruments/cn-gec/GEC202400001576"),
                (owner, "/v1/instruments/cn-gec/GEC20240000777"),
                (owner, "/v1/instruments/i-rec/GEC202400000777"),
                (buyer, "/v1/instruments/cn-gec/GEC202400000777"),
            ):
                answer = who.get(path)
                assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
            bad = owner.get("/v1/instruments/cn-gec/no-digits")
            assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"
