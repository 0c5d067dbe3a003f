"""Stage 1 of the sequencer: canonical form, signature and model, in order, on all cores."""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.sdk import LedgerClient, OrgSigner, Rejected, collector_key_entry, new_entry
from clients.sdk.entries import SignedEntry
from ledger._internal import prevalidate
from ledger._internal.prevalidate import Item, Prevalidator, _chunks, check_items
from ledger.entries.carbon.activity import ActivityBatch
from ledger.errors import UNVERIFIED_SIGNATURE
from ledger.keys import encode_public_key, new_private_key
from ledger.sequencer import SequencerUnavailableError, Submission
from ledger.store.database import sqlite_url
from tests.ledger_fixtures import enroll, operator_of, running_server

RECYCLER = "urn:pact:company:customcode:recycler"


def _readings(count: int, *, hour: int = 0) -> list[dict[str, str]]:
    return [
        {
            "meterId": f"m-{i // 60}",
            "stage": "smelting",
            "intervalStart": f"2025-03-01T{hour:02}:{i % 60:02}:00Z",
            "intervalEnd": f"2025-03-01T{hour:02}:{i % 60:02}:30Z",
            "quantity": "12.5",
            "unit": "kWh",
            "quality": "measured",
        }
        for i in range(count)
    ]


def _batch(signer: OrgSigner, readings: list[dict[str, str]]) -> SignedEntry:
    entry = new_entry(
        "activity.batch", RECYCLER, site="plant-1", collectorId="edge-7", readings=readings
    )
    return signer.sign(entry)


def _item(signed: SignedEntry, public_key: bytes | None) -> Item:
    return (signed.entry, public_key, signed.signature)


def test_each_item_gets_a_verdict_in_order() -> None:
    signer = OrgSigner(RECYCLER, new_private_key())
    good = _batch(signer, _readings(3))
    overlap = _readings(3)
    overlap[2]["intervalStart"] = "2025-03-01T00:01:10Z"  # inside reading 1 of meter m-0
    verdicts = check_items(
        [
            _item(good, signer.public_key),
            _item(good, None),  # key not known yet: the sequencer verifies later
            (good.entry.replace(b'{"collectorId"', b'{ "collectorId"'), None, good.signature),
            (good.entry, signer.public_key, bytes(64)),
            _item(_batch(signer, overlap), signer.public_key),
        ]
    )
    assert isinstance(verdicts[0], ActivityBatch) and isinstance(verdicts[1], ActivityBatch)
    assert verdicts[0].entryId == good.entry_id
    assert not isinstance(verdicts[2], ActivityBatch)
    message, _, is_signature = verdicts[2]
    assert "canonical" in message and not is_signature
    assert verdicts[3] == (UNVERIFIED_SIGNATURE, "signature", True)
    assert not isinstance(verdicts[4], ActivityBatch)
    message, field, is_signature = verdicts[4]
    assert field == "readings[2].intervalStart" and "overlaps" in message and not is_signature


def test_the_rules_get_an_entry_without_its_readings() -> None:
    signer = OrgSigner(RECYCLER, new_private_key())
    (verdict,) = check_items([_item(_batch(signer, _readings(1000)), signer.public_key)])
    assert isinstance(verdict, ActivityBatch)
    shipped = pickle.loads(pickle.dumps(verdict))
    assert (shipped.type, shipped.org, shipped.site) == ("activity.batch", RECYCLER, "plant-1")
    assert len(pickle.dumps(verdict)) < 1000  # not 1,000 pickled readings
    for use in (list, len, bool, lambda readings: readings[0]):
        with pytest.raises(RuntimeError, match="withheld"):
            use(shipped.readings)


@pytest.mark.parametrize(
    ("sizes", "parts"),
    [
        ([100_000] * 14, 2),
        ([100_000] * 13, 2),
        ([300] * 100, 2),
        ([500_000, 10, 10], 2),
        ([10], 2),
        ([1000] * 7, 3),
        ([5] * 3, 8),
    ],
)
def test_chunks_keep_order_and_split_the_cost(sizes: list[int], parts: int) -> None:
    items: list[Item] = [(bytes(size), None, bytes(64)) for size in sizes]
    chunks = _chunks(items, parts)
    assert [item for chunk in chunks for item in chunk] == items
    assert 1 <= len(chunks) <= parts and all(chunks)
    if len(set(sizes)) == 1:
        lengths = [len(chunk) for chunk in chunks]
        assert max(lengths) - min(lengths) <= 1


def test_large_entries_are_checked_by_workers(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        running_server(tmp_path, db_url, workers=2) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        recycler = enroll(client, operator_of(server), RECYCLER, "supplier")
        collector = OrgSigner(RECYCLER, new_private_key())
        client.submit(recycler.sign(collector_key_entry(RECYCLER, collector.public_key)))
        pool = server.sequencer._prevalidator._pool
        assert pool is not None
        sent: list[int] = []
        submit = pool.submit

        def counted(fn: Any, chunk: Any) -> Any:
            sent.append(len(chunk))
            return submit(fn, chunk)

        monkeypatch.setattr(pool, "submit", counted)
        batches = [_batch(collector, _readings(1000, hour=h)) for h in range(8)]
        overlapping = _readings(1000, hour=9)
        overlapping[999]["intervalStart"] = "2025-03-01T09:38:10Z"  # meter m-16 at 09:38
        refused = _batch(collector, overlapping)
        batches.insert(3, refused)
        forged = dataclasses.replace(
            _batch(collector, _readings(1000, hour=10)), signature=bytes(64)
        )
        batches.insert(6, forged)
        short = dataclasses.replace(_batch(collector, _readings(1000, hour=11)), signature=b"x")
        batches.insert(1, short)  # refused before any check, amid checked entries
        results = {r.entry_id: r for r in client.submit_stream(batches)}
        assert sum(sent) == len(batches) - 1, "every large entry went to a worker"
        refused_early = results[short.entry_id]
        assert isinstance(refused_early, Rejected) and refused_early.field == "signature"
        bad_model, bad_signature = results[refused.entry_id], results[forged.entry_id]
        assert isinstance(bad_model, Rejected)
        assert bad_model.code == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_model.field == "readings[999].intervalStart"
        assert isinstance(bad_signature, Rejected)
        assert bad_signature.code == grpc.StatusCode.UNAUTHENTICATED
        recorded = [r for r in results.values() if not isinstance(r, Rejected)]
        assert len(recorded) == 8 == len({r.seq for r in recorded})
        assert server.store.tree_size() == 3 + 8


def test_a_failed_check_is_retryable_and_the_sequencer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(items: Any) -> Any:
        raise RuntimeError("a bug in a validator")

    with running_server(tmp_path, sqlite_url(tmp_path)) as server:
        operator = operator_of(server)
        enroll = operator.sign(
            new_entry(
                "org.enroll",
                operator.org,
                orgId=RECYCLER,
                name="Recycler",
                roles=["supplier"],
                publicKey=encode_public_key(OrgSigner(RECYCLER, new_private_key()).public_key),
            )
        )
        submission = Submission(enroll.entry, enroll.key_id, enroll.signature)
        monkeypatch.setattr(prevalidate, "check_items", broken)
        error = server.sequencer.submit(submission).exception(timeout=10)
        assert isinstance(error, SequencerUnavailableError)
        monkeypatch.undo()
        assert server.sequencer.submit(submission).result(timeout=10).seq == 1


def test_a_dead_worker_costs_only_the_chunks_in_flight() -> None:
    signer = OrgSigner(RECYCLER, new_private_key())
    items = [_item(_batch(signer, _readings(1000)), signer.public_key)]
    prevalidator = Prevalidator(2)
    try:
        [(_, first)] = prevalidator.submit(items)
        assert isinstance(first.result(timeout=60)[0], ActivityBatch)
        pool = prevalidator._pool
        assert pool is not None
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        # Submitted before the pool noticed: refused as a whole (the sequencer answers
        # it as retryable); after: checked by new workers.
        [(_, in_flight)] = prevalidator.submit(items)
        try:
            verdicts = in_flight.result(timeout=60)
        except BrokenProcessPool:
            pass
        else:
            assert isinstance(verdicts[0], ActivityBatch)
        [(_, after)] = prevalidator.submit(items)
        assert isinstance(after.result(timeout=60)[0], ActivityBatch)
        assert prevalidator._pool is not pool
    finally:
        prevalidator.close()
