"""Property: for random logs, ``fsck --repair`` rebuilds the derived tables exactly as
the sequencer built them while appending (Hypothesis, a few examples per backend).

Each example runs a fresh real server on a fresh store, submits a random mix of
carbon entries (some of which the rules refuse: that is part of the mix),
snapshots the derived tables, empties them all, repairs with the command, and
compares.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from clients.fsck_cli import fsck_command
from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from ledger.store.database import sqlite_url
from ledger.store.derived import derived_tables
from tests import carbon_builders as cb
from tests.conftest import _postgres_schema_url
from tests.ledger_fixtures import enroll, operator_of, running_server
from tests.test_audit_mix import index_rows
from tests.test_audit_tamper import engine

SUPPLIER = "urn:pact:company:customcode:prop-supplier"
BUYER = "urn:pact:company:customcode:prop-buyer"
VERIFIER = "urn:pact:company:customcode:prop-verifier"
PRODUCTS = [f"urn:pact:product:prop:p{i}" for i in range(3)]

operation = st.one_of(
    st.tuples(st.just("footprint"), st.integers(0, 2), st.booleans(), st.booleans()),
    st.tuples(st.just("deprecate"), st.integers(0, 5)),
    st.tuples(st.just("grant"), st.integers(0, 2)),
    st.tuples(st.just("revoke"), st.integers(0, 5)),
    st.tuples(st.just("retire"), st.integers(1, 40), st.integers(0, 5)),
    st.tuples(st.just("attest"), st.integers(0, 5)),
)


@contextmanager
def fresh_store(backend: str) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield Path(tmp), sqlite_url(Path(tmp))
        else:
            urls = _postgres_schema_url()
            try:
                yield Path(tmp), next(urls)
            finally:
                urls.close()


class Party:
    """Submits the mix; remembers what a later operation may refer to."""

    def __init__(self, client: LedgerClient, operator: OrgSigner) -> None:
        self.client = client
        self.supplier = enroll(client, operator, SUPPLIER, "supplier")
        self.verifier = enroll(client, operator, VERIFIER, "verifier")
        enroll(client, operator, BUYER, "buyer")
        self.submit(operator, cb.default_factor_set(operator.org))
        self.footprints: list[dict[str, Any]] = []
        self.grants: list[str] = []

    def submit(self, signer: OrgSigner, entry: dict[str, Any]) -> None:
        # Refused entries write nothing, and must leave no derived row either.
        with contextlib.suppress(Rejected):
            self.client.submit(signer.sign(entry))

    def pick(self, items: list[Any], index: int) -> Any:
        return items[index % len(items)] if items else None

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "footprint":
            _, product, upstream, batch = op
            earlier = self.pick(self.footprints, product)
            inputs = [cb.grid_electricity("3.5")]
            if upstream and earlier is not None:
                fid = earlier["footprint"]["id"]
                inputs.append({"footprintId": fid, "amount": "0.5", "unit": "kilogram"})
            entry = cb.footprint_entry(
                SUPPLIER, PRODUCTS[product], inputs=inputs, batch="b1" if batch else None
            )
            self.footprints.append(entry)
            self.submit(self.supplier, entry)
        elif kind == "deprecate" and (fp := self.pick(self.footprints, op[1])) is not None:
            fid = fp["footprint"]["id"]
            deprecate = new_entry("footprint.deprecate", SUPPLIER, footprintId=fid, reason="x")
            self.submit(self.supplier, deprecate)
        elif kind == "grant":
            entry = cb.grant(SUPPLIER, BUYER, product_id=PRODUCTS[op[1]])
            self.grants.append(entry["entryId"])
            self.submit(self.supplier, entry)
        elif kind == "revoke" and (gid := self.pick(self.grants, op[1])) is not None:
            self.submit(self.supplier, new_entry("grant.revoke", SUPPLIER, grantId=gid))
        elif kind == "retire":
            first = 1 + op[2] * 20
            last = first + op[1] - 1
            serials = (f"GEC2024{first:08d}", f"GEC2024{last:08d}")
            self.submit(self.supplier, cb.retirement(SUPPLIER, "cn-gec", *serials))
        elif kind == "attest" and (fp := self.pick(self.footprints, op[1])) is not None:
            fid = fp["footprint"]["id"]  # a verifier attests what it may read in detail
            self.submit(
                self.supplier, cb.grant(SUPPLIER, VERIFIER, footprint_id=fid, level="detail")
            )
            self.submit(self.verifier, cb.attestation(VERIFIER, fp["entryId"]))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_repair_rebuilds_what_the_sequencer_built(backend: str, ops: list[Any]) -> None:
    with fresh_store(backend) as (data, db_url):
        with (
            running_server(data / "data", db_url) as server,
            LedgerClient(server.grpc_target) as client,
        ):
            party = Party(client, operator_of(server))
            for op in ops:
                party.apply(op)
        built = index_rows(db_url)
        with engine(db_url) as eng, eng.begin() as conn:
            for table in derived_tables():
                conn.execute(delete(table))
        assert index_rows(db_url) != built
        result = CliRunner().invoke(fsck_command, ["--db", db_url, "--workers", "1", "--repair"])
        assert result.exit_code == 0, result.output
        assert index_rows(db_url) == built
