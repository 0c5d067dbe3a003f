"""One entry the database refuses does not roll back the others committed with it
(issue 14, finding 2).

Validation refuses every value we know a backend cannot store (see
``test_hostile_entries``), so the database here gets a rule of its own that
validation knows nothing about: a real constraint (a CHECK on PostgreSQL, a
trigger on SQLite) refusing records of one organisation. That is the situation
the sequencer must survive: a commit failing inside the database because of one
entry's data.
"""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text

from clients.sdk import LedgerClient, OrgSigner, new_entry
from clients.sdk.entries import SignedEntry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger._pb.carbonledger.v1 import ledger_pb2_grpc as pb_grpc
from tests.ledger_fixtures import enroll, operator_of, running_server

MARK = "refused-by-db"
REFUSED_ORG = f"urn:pact:company:customcode:{MARK}"
ORGS = [f"urn:pact:company:customcode:isolation-{i}" for i in range(3)]


def _refuse_marked_org(db_url: str) -> None:
    """Install a database rule refusing records of ``REFUSED_ORG``."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_marked BEFORE INSERT ON record "
                    f"WHEN NEW.org_id LIKE '%{MARK}%' "
                    f"BEGIN SELECT RAISE(ABORT, 'refused by a database rule'); END"
                )
            )
        else:
            conn.execute(
                text(
                    f"ALTER TABLE record ADD CONSTRAINT refuse_marked "
                    f"CHECK (org_id NOT LIKE '%{MARK}%')"
                )
            )
    engine.dispose()


def _batch(signer: OrgSigner, meter: str) -> SignedEntry:
    reading = {
        "meterId": meter,
        "stage": "smelting",
        "intervalStart": "2025-03-01T00:00:00Z",
        "intervalEnd": "2025-03-01T00:00:30Z",
        "quantity": "1",
        "unit": "kWh",
        "quality": "measured",
    }
    entry = new_entry("activity.batch", signer.org, site="s", collectorId="c", readings=[reading])
    return signer.sign(entry)


def test_an_entry_the_database_refuses_is_refused_alone(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        running_server(tmp_path, db_url) as server,
        LedgerClient(server.grpc_target) as client,
        grpc.insecure_channel(server.grpc_target) as channel,
    ):
        operator = operator_of(server)
        signers = [enroll(client, operator, org, "supplier") for org in ORGS]
        refused = enroll(client, operator, REFUSED_ORG, "supplier")
        _refuse_marked_org(db_url)
        size = server.store.tree_size()
        entries = [_batch(signers[i % len(signers)], f"m-{i}") for i in range(12)]
        entries[5:5] = [_batch(refused, "m-refused")]
        requests = [
            pb.SubmitRequest(entry=e.entry, key_id=e.key_id, signature=e.signature) for e in entries
        ]
        with caplog.at_level(logging.INFO, logger="ledger"):
            # One stream: the entries queue together and are committed together.
            responses = {
                r.index: r for r in pb_grpc.LedgerStub(channel).SubmitStream(iter(requests))
            }
        assert sorted(responses) == list(range(len(requests)))
        rejection = responses[5].rejection
        assert rejection.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "store cannot hold this entry" in rejection.message
        receipts = [responses[i].receipt for i in range(len(requests)) if i != 5]
        assert all(responses[i].WhichOneof("result") == "receipt" for i in responses if i != 5)
        assert sorted(r.seq for r in receipts) == list(range(size, size + len(receipts)))
        assert server.store.tree_size() == size + len(receipts)
        for receipt in receipts:  # each recorded, in the signed tree
            stored = server.store.record(receipt.seq)
            assert stored is not None and stored.leaf_hash == receipt.leaf_hash
        # The sequencer goes on, with its identity state rebuilt after the rollbacks.
        again = client.submit(_batch(signers[0], "m-after"))
        assert again.seq == size + len(receipts)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
