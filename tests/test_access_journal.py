"""A cached footprint access answer outlives the appends that cannot reach it, and no
longer (``gateway.access_journal``), through a real ledger and gateway."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import gateway.footprints
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, SUPPLIER_B, Env, environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
PRODUCT_2 = "urn:pact:product:recycler-a:lfp-100ah"
OTHER_PRODUCT = "urn:pact:product:cathode-b:ncm-811"


def _status(env: Env, org: str, footprint_id: str) -> str | int:
    """The footprint's PACT status as ``org`` is served it, or the HTTP status."""
    with env.client(org) as client:
        answer = client.get(f"/3/footprints/{footprint_id}")
    if answer.status_code != 200:
        return answer.status_code
    return str(answer.json()["data"]["status"])


def test_every_append_that_reaches_a_cached_answer_changes_it_at_once(
    tmp_path: Path, db_url: str
) -> None:
    """Each step reads the answer first (so it is cached), then appends what reaches it:
    an answer served from the cache across such an append would be stale."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        assert _status(env, BUYER, fid) == 404
        grant = env.grant(SUPPLIER, BUYER, footprintId=fid)  # a grant to the viewer
        assert _status(env, BUYER, fid) == "Active"
        env.footprint(SUPPLIER_B, OTHER_PRODUCT)  # reaches no answer about fid
        env.grant(SUPPLIER, OTHER_BUYER, footprintId=fid)  # another viewer's grant
        assert _status(env, BUYER, fid) == "Active"
        env.revoke(SUPPLIER, grant)  # names the grant, not the grantee
        assert _status(env, BUYER, fid) == 404

        env.grant(SUPPLIER, BUYER, productId=PRODUCT)
        assert _status(env, BUYER, fid) == "Active"
        env.footprint(SUPPLIER, PRODUCT, preceding=[fid])  # a successor naming it
        assert _status(env, BUYER, fid) == "Deprecated"
        assert _status(env, SUPPLIER, fid) == "Deprecated"

        other, _ = env.footprint(SUPPLIER, PRODUCT_2)
        assert _status(env, SUPPLIER, other) == "Active"
        env.deprecate(SUPPLIER, other)
        assert _status(env, SUPPLIER, other) == "Deprecated"

        # An id asked for before any footprint has it: the footprint with that id reaches
        # the cached "no such footprint".
        future = str(uuid.uuid4())
        assert _status(env, SUPPLIER, future) == 404
        env.footprint(SUPPLIER, PRODUCT_2, fid=future)
        assert _status(env, SUPPLIER, future) == "Active"


def test_a_revocation_disguised_in_its_row_still_reaches_the_answer(
    tmp_path: Path, db_url: str
) -> None:
    """A database insider relabels the revocation's row as an attestation (a type that
    reaches no answer): the journal goes by the type the signed bytes name."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        grant = env.grant(SUPPLIER, BUYER, footprintId=fid)
        assert _status(env, BUYER, fid) == "Active"
        env.revoke(SUPPLIER, grant)
        engine = create_engine(db_url)
        try:
            with engine.begin() as conn:
                relabelled = conn.execute(
                    text(
                        "UPDATE record SET entry_type = 'attestation' "
                        "WHERE seq = (SELECT MAX(seq) FROM record)"
                    )
                ).rowcount
        finally:
            engine.dispose()
        assert relabelled == 1
        assert _status(env, BUYER, fid) == 404


@pytest.fixture
def policy_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The footprint ids the gateway asks the access policy about, in order."""
    calls: list[str] = []
    ask = gateway.footprints.footprint_access_in

    def counted(conn: Any, caller: Any, owner: str, footprint_id: str, at_us: int) -> Any:
        calls.append(footprint_id)
        return ask(conn, caller, owner, footprint_id, at_us)

    monkeypatch.setattr(gateway.footprints, "footprint_access_in", counted)
    return calls


def test_appends_that_cannot_reach_an_answer_leave_it_cached(
    tmp_path: Path, db_url: str, policy_calls: list[str]
) -> None:
    """Without the journal every append would make every cached answer be asked anew:
    under a trickle of appends the PACT read fell about sevenfold."""
    with environment(tmp_path, db_url) as env:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        env.grant(SUPPLIER, BUYER, footprintId=fid)
        assert _status(env, BUYER, fid) == "Active"
        assert policy_calls == [fid]
        env.footprint(SUPPLIER_B, OTHER_PRODUCT)
        env.grant(SUPPLIER, OTHER_BUYER, footprintId=fid)
        env.grant(SUPPLIER_B, BUYER, productId=OTHER_PRODUCT)  # the viewer's: reaches it
        policy_calls.clear()
        assert _status(env, BUYER, fid) == "Active"
        assert policy_calls == [fid]
        env.footprint(SUPPLIER_B, OTHER_PRODUCT + "-2")
        env.grant(SUPPLIER, OTHER_BUYER, productId=PRODUCT)
        policy_calls.clear()
        assert _status(env, BUYER, fid) == "Active"
        assert policy_calls == []
