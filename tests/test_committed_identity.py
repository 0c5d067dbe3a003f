"""``CommittedIdentity``: snapshots readers can share, and following the log from the
last applied seq only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.committed_identity import CommittedIdentity
from ledger.entries import parse_entry
from ledger.entries.carbon.instruments import SerialRange
from ledger.keys import encode_public_key, key_id, new_private_key
from ledger.rules import IdentityState
from ledger.store.database import Database
from ledger.store.log import LogStore
from tests.ledger_fixtures import enroll, operator_of, running_server

ORG = "urn:pact:company:customcode:cow"


def _enroll_entry(org: str, signer: OrgSigner) -> Any:
    return parse_entry(
        new_entry(
            "org.enroll",
            "urn:carbonledger:org:operator",
            orgId=org,
            name="n",
            roles=["supplier"],
            publicKey=encode_public_key(signer.public_key),
        )
    )


def test_a_fork_advances_without_changing_the_snapshot_it_came_from() -> None:
    signer = OrgSigner(ORG, new_private_key())
    snapshot = IdentityState()
    snapshot.apply(_enroll_entry(ORG, signer), 1)
    snapshot.seal()
    fork = snapshot.fork()
    assert fork.keys is snapshot.keys  # nothing copied until the fork changes
    rotated = OrgSigner(ORG, new_private_key())
    fork.apply(
        parse_entry(
            new_entry(
                "key.rotate",
                ORG,
                orgId=ORG,
                newPublicKey=encode_public_key(rotated.public_key),
            )
        ),
        2,
    )
    old = key_id(signer.public_key)
    assert fork.keys[old].ended_seq == 2 and key_id(rotated.public_key) in fork.keys
    assert snapshot.keys[old].active and key_id(rotated.public_key) not in snapshot.keys
    assert snapshot.orgs[ORG].signing_key == old and snapshot.size == 2
    with pytest.raises(RuntimeError, match="sealed"):
        snapshot.apply(_enroll_entry(ORG + "-2", rotated), 3)


def test_a_forks_registry_account_leaves_the_snapshot_its_accounts_and_serials() -> None:
    snapshot = IdentityState()
    snapshot.apply(_enroll_entry(ORG, OrgSigner(ORG, new_private_key())), 1)
    snapshot.seal()
    fork = snapshot.fork()
    issued = {"first": "GEC-000001", "last": "GEC-000010"}
    account = new_entry(
        "registry.account",
        "urn:carbonledger:org:operator",
        registry="cn-gec",
        accountId="acct-cow",
        orgId=ORG,
        serialRanges=[issued],
    )
    fork.apply(parse_entry(account), 2)
    serials = SerialRange(**issued)
    assert fork.account_holder("cn-gec", "acct-cow") == ORG
    assert fork.issued_to("cn-gec", "acct-cow", serials)
    assert snapshot.account_holder("cn-gec", "acct-cow") is None
    assert not snapshot.issued_to("cn-gec", "acct-cow", serials)


def test_the_follower_reads_only_the_entries_after_its_last_applied_seq(
    tmp_path: Path, db_url: str
) -> None:
    with (
        running_server(tmp_path, db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        earlier = enroll(client, operator, ORG, "supplier")
        db = Database(db_url)  # another process's view of the same database
        follower = CommittedIdentity(LogStore(db))
        assert ORG in follower.catch_up().orgs
        applied = follower.current().size

        # Records it applied are never read again: were they, this one would not parse.
        with server.db.write() as conn:
            conn.execute(text("UPDATE record SET entry = :e WHERE seq = 1"), {"e": b"{"})
        queries: list[tuple[str, list[Any]]] = []

        def note(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                values = parameters.values() if isinstance(parameters, dict) else parameters
                queries.append((statement, list(values)))

        event.listen(db.read_engine, "before_cursor_execute", note)
        assert follower.catch_up().size == applied  # nothing new: the size query alone
        assert len(queries) == 1 and "max(seq)" in queries[0][0].lower()

        later = enroll(client, operator, ORG + "-later", "buyer")
        caught_up = follower.catch_up()
        event.remove(db.read_engine, "before_cursor_execute", note)
        reads = [values for statement, values in queries[1:] if "entry_type" in statement]
        assert reads and all(applied in values for values in reads)  # from seq ``applied``
        assert caught_up.size == server.store.tree_size() == applied + 1
        assert caught_up.orgs[ORG + "-later"].roles == {"buyer"}
        assert key_id(later.public_key) in caught_up.keys
        assert key_id(earlier.public_key) in caught_up.keys  # kept from the snapshot
        db.dispose()
