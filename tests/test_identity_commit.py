"""An enrolment whose commit fails never authorises anything (issue 12, item 3).

The sequencer applies an entry's identity change before its batch commits. The
change must reach readers (gRPC authentication, the gateway) only once the commit
succeeded: here the database refuses the enrolment's record (a real constraint, as
in ``test_commit_isolation``), and while the sequencer is inside that commit, with
the enrolment applied to its working identity, the enrolled key tries to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import create_engine, event, text

from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from clients.sdk.entries import SignedEntry
from ledger.keys import encode_public_key, new_private_key
from tests.ledger_fixtures import operator_of, read_status, running_server

MARK = "refused-enrolment"
REFUSED_ORG = f"urn:pact:company:customcode:{MARK}"
ORGS = [f"urn:pact:company:customcode:committed-{i}" for i in range(3)]


def _refuse_marked_enrolments(db_url: str) -> None:
    """Install a database rule refusing the record of an enrolment naming ``MARK``."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_marked BEFORE INSERT ON record "
                    f"WHEN instr(CAST(NEW.entry AS TEXT), '{MARK}') > 0 "
                    "BEGIN SELECT RAISE(ABORT, 'refused by a database rule'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "ALTER TABLE record ADD CONSTRAINT refuse_marked "
                    f"CHECK (position(convert_to('{MARK}', 'UTF8') in entry) = 0)"
                )
            )
    engine.dispose()


def _enrolment(operator: OrgSigner, signer: OrgSigner) -> SignedEntry:
    return operator.sign(
        new_entry(
            "org.enroll",
            operator.org,
            orgId=signer.org,
            name=signer.org.rsplit(":", 1)[-1],
            roles=["auditor"],  # reads everything: any read it makes succeeds
            publicKey=encode_public_key(signer.public_key),
        )
    )


def test_an_enrolment_whose_commit_fails_never_authorises_a_read(
    tmp_path: Path, db_url: str
) -> None:
    with (
        running_server(tmp_path, db_url) as server,
        LedgerClient(server.grpc_target) as client,
    ):
        operator = operator_of(server)
        refused = OrgSigner(REFUSED_ORG, new_private_key())
        others = [OrgSigner(org, new_private_key()) for org in ORGS]
        _refuse_marked_enrolments(db_url)
        during_commits: list[grpc.StatusCode] = []

        def probe(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            """Inside the sequencer's transaction, just before its records go in."""
            if statement.lstrip().upper().startswith("INSERT INTO RECORD"):
                during_commits.append(read_status(server.grpc_target, refused))

        event.listen(server.db.write_engine, "before_cursor_execute", probe)
        try:
            # One stream: the enrolments are committed together where they can be, and
            # the refused one is isolated by committing the batch again in halves.
            entries = [_enrolment(operator, s) for s in (others[0], refused, *others[1:])]
            results = list(client.submit_stream(entries))
        finally:
            event.remove(server.db.write_engine, "before_cursor_execute", probe)

        rejected = [r for r in results if isinstance(r, Rejected)]
        assert [r.entry_id for r in rejected] == [entries[1].entry_id]
        assert rejected[0].code == grpc.StatusCode.INVALID_ARGUMENT
        assert len(results) == len(entries)
        # The refused commit ran, and at no time did the enrolled key read anything.
        assert during_commits
        assert set(during_commits) == {grpc.StatusCode.UNAUTHENTICATED}
        assert read_status(server.grpc_target, refused) == grpc.StatusCode.UNAUTHENTICATED
        # The enrolments committed beside it are in force.
        for signer in others:
            assert read_status(server.grpc_target, signer) == grpc.StatusCode.OK
