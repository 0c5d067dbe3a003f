"""Insider tampering behind the server's back, and the audit that catches each kind.

Each test populates a real server (SQLite file and PostgreSQL), audits it
(passes, state saved), stops the server, changes stored data with SQL the way
an insider with database access could, and audits again: offline from the
database and, where the server can still run, over gRPC after a restart.

In-place edits of already-audited records are invisible to an incremental
audit by design (it reads only new records); they are what ``--from-scratch``
is for, and that is what these tests run for them. Rewrites that change the
tree (truncate and re-append) are caught by the default incremental audit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from clients.audit.model import Check
from clients.audit.state import load_checkpoint
from clients.sdk import LedgerClient
from ledger.canonical import canonicalize
from ledger.checkpointer import Checkpointer
from ledger.datadir import DEFAULT_ORIGIN
from ledger.keys import new_private_key, save_private_key
from ledger.note import NoteSigner
from ledger.record import Record, entry_hash
from ledger.store.database import Database
from ledger.store.log import LogStore
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.test_audit_mix import Ledger, db_audit, grpc_audit, populate


@contextmanager
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def audited_ledger(tmp_path: Path, db_url: str) -> tuple[Ledger, str, Path]:
    """A populated ledger that passed an audit; returns its orgs, vkey and state dir."""
    state = tmp_path / "state"
    with (
        running_server(tmp_path / "data", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        ledger = populate(client, server)
        report = grpc_audit(server, ledger.auditor, state)
        assert report.ok, report.to_text()
        return ledger, server.vkey, state


def rows(eng: Engine) -> list[dict[str, Any]]:
    with eng.connect() as conn:
        result = conn.execute(text("SELECT * FROM record ORDER BY seq"))
        return [dict(r._mapping) for r in result]


def rewrite_from(eng: Engine, seq: int, entry: bytes, signature: bytes) -> None:
    """Replace record ``seq``'s entry and signature and recompute every hash after it,
    so the hash chain is internally consistent again (a careful insider)."""
    records = rows(eng)
    prev = bytes(records[seq]["prev_chain_hash"])
    with eng.begin() as conn:
        for row in records[seq:]:
            body = entry if row["seq"] == seq else bytes(row["entry"])
            sig = signature if row["seq"] == seq else bytes(row["signature"])
            rec = Record(
                row["seq"], row["timestamp_us"], prev, entry_hash(body), bytes(row["key_id"]), sig
            )
            conn.execute(
                text(
                    "UPDATE record SET entry=:e, signature=:s, entry_hash=:h, prev_chain_hash=:p,"
                    " leaf_hash=:l, chain_hash=:c WHERE seq=:q"
                ),
                {
                    "e": body,
                    "s": sig,
                    "h": rec.entry_hash,
                    "p": prev,
                    "l": rec.leaf_hash(),
                    "c": rec.chain_hash(),
                    "q": rec.seq,
                },
            )
            prev = rec.chain_hash()


def full_offline_audit(db_url: str, vkey: str, state: Path) -> tuple[int | None, set[Check]]:
    report = db_audit(db_url, vkey, state, from_scratch=True)
    assert not report.ok, "tampering went unnoticed"
    assert not report.state_saved
    return report.first_bad_seq(), {f.check for f in report.failures}


def test_flipped_byte_is_named(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    seq = ledger.seqs["grant"]
    with engine(db_url) as eng:
        entry = bytes(rows(eng)[seq]["entry"])
        flipped = entry.replace(b'"summary"', b'"summarz"')
        assert flipped != entry
        with eng.begin() as conn:
            conn.execute(text("UPDATE record SET entry=:e WHERE seq=:q"), {"e": flipped, "q": seq})
    bad, checks = full_offline_audit(db_url, vkey, state)
    assert bad == seq
    assert Check.RECORD in checks


def test_resigned_change_with_the_right_key_is_named(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    seq = ledger.seqs["gec"]
    with engine(db_url) as eng:
        obj = json.loads(bytes(rows(eng)[seq]["entry"]))
        obj["quantity"], obj["serials"]["last"] = "1574", "GEC202400001574"
        entry = canonicalize(obj)
        rewrite_from(eng, seq, entry, ledger.buyer.private_key.sign(entry))
    bad, checks = full_offline_audit(db_url, vkey, state)
    # Internally consistent (signature, chain and rules hold), but not the signed tree.
    assert bad == seq
    assert checks >= {Check.MERKLE_ROOT, Check.CONSISTENCY}
    assert Check.SIGNATURE not in checks and Check.RECORD not in checks


def test_deleted_record_is_named(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    seq = ledger.seqs["attestation"]
    with engine(db_url) as eng, eng.begin() as conn:
        conn.execute(text("DELETE FROM record WHERE seq=:q"), {"q": seq})
    bad, checks = full_offline_audit(db_url, vkey, state)
    assert bad == seq
    assert Check.SEQUENCE in checks


def test_swapped_records_are_named(tmp_path: Path, db_url: str) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    a, b = ledger.seqs["grant"], ledger.seqs["ccer"]
    with engine(db_url) as eng, eng.begin() as conn:
        conn.execute(text("UPDATE record SET seq=-1 WHERE seq=:a"), {"a": a})
        conn.execute(text("UPDATE record SET seq=:a WHERE seq=:b"), {"a": a, "b": b})
        conn.execute(text("UPDATE record SET seq=:b WHERE seq=-1"), {"b": b})
    bad, checks = full_offline_audit(db_url, vkey, state)
    assert bad == a
    assert Check.RECORD in checks


def test_truncated_and_reappended_log_is_an_inconsistent_checkpoint(
    tmp_path: Path, db_url: str
) -> None:
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    saved = load_checkpoint(state)
    assert saved is not None
    saved_size = saved.size
    cut = ledger.seqs["attestation"]
    with engine(db_url) as eng, eng.begin() as conn:
        conn.execute(text("DELETE FROM record WHERE seq >= :k"), {"k": cut})
        conn.execute(text("DELETE FROM checkpoint WHERE size > :k"), {"k": cut})
        nodes = conn.execute(text("SELECT level, idx FROM merkle_node")).all()
        for level, idx in nodes:
            if (idx + 1) << level > cut:
                conn.execute(
                    text("DELETE FROM merkle_node WHERE level=:l AND idx=:i"),
                    {"l": level, "i": idx},
                )
    with (
        running_server(tmp_path / "data", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        for i in range(saved_size - cut + 2):
            enroll(client, operator, f"urn:pact:company:customcode:new{i}", "buyer")
        # The next (default, incremental) audit: the new history is internally
        # consistent but does not extend the checkpoint saved by the last audit.
        report = grpc_audit(server, ledger.auditor, state, vkey)
    assert not report.ok and not report.state_saved
    consistency = [f for f in report.failures if f.check is Check.CONSISTENCY]
    assert consistency, report.to_text()
    assert f"size {saved_size} seen before" in consistency[0].reason
    offline = db_audit(db_url, vkey, state)
    assert not offline.ok
    assert offline.failures[0].check is Check.CONSISTENCY
    # Failed audits leave the state of the last good one untouched.
    after = load_checkpoint(state)
    assert after is not None and after.size == saved_size


def test_replaced_checkpoint_key_is_refused(tmp_path: Path, db_url: str) -> None:
    """An insider re-signs the checkpoints with a key of their own (a ledger with
    another key than the one that signed the newest checkpoint refuses to start, so a
    plain key swap is not enough) and runs the ledger with it. Audits pinned to the
    original key, over gRPC and offline, name the signature."""
    ledger, vkey, state = audited_ledger(tmp_path, db_url)
    insider_key = new_private_key()
    eng = create_engine(db_url)
    with eng.begin() as conn:  # the checkpoints the insider's key cannot extend go
        conn.execute(text("DELETE FROM checkpoint"))
    eng.dispose()
    db = Database(db_url)
    try:
        Checkpointer(LogStore(db), NoteSigner(DEFAULT_ORIGIN, insider_key)).refresh()
    finally:
        db.dispose()
    key_path = tmp_path / "data" / "ledger.key"
    key_path.unlink()
    Path(f"{key_path}.pub").unlink()
    save_private_key(insider_key, key_path)
    with (
        running_server(tmp_path / "data", db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        assert server.vkey != vkey
        enroll(client, operator_of(server), "urn:pact:company:customcode:late", "buyer")
        assert client.checkpoint().size == ledger.seqs["ccer"] + 2
        over_grpc = grpc_audit(server, ledger.auditor, state, vkey)
    offline = db_audit(db_url, vkey, state)
    for report in (over_grpc, offline):
        assert not report.ok and not report.state_saved
        assert [f.check for f in report.failures] == [Check.CHECKPOINT_SIGNATURE]
        assert "not signed by the pinned ledger key" in report.failures[0].reason
