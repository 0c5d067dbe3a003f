"""A realistic party of orgs on a real ledger, for rule and abuse tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clients.sdk import LedgerClient, OrgSigner, Rejected
from ledger.server import LedgerServer
from tests import carbon_builders as cb
from tests.ledger_fixtures import enroll, operator_of, running_server

RECYCLER = "urn:pact:company:customcode:recycler"
REFINER = "urn:pact:company:customcode:refiner"
VERIFIER = "urn:pact:company:customcode:certifier"
BUYER = "urn:pact:company:customcode:pack-maker"
LI2CO3 = "urn:pact:product:recycler:li2co3-bg"
CATHODE = "urn:pact:product:refiner:lfp-cathode"
# Registries at which the operator binds each supplier's and the buyer's account
# (``cb.account_of``) when the chain is set up, so tests retire from their own.
REGISTRIES = ("gec-cn", "cn-gec", "i-rec")
# The serial ranges each registry issued to those accounts (the same at each one).
ISSUED: dict[str, tuple[tuple[str, str], ...]] = {
    RECYCLER: (("GEC-2024-000001", "GEC-2024-000499"), ("GEC-2025-000001", "GEC-2025-000499")),
    REFINER: (("GEC-2024-000500", "GEC-2024-000999"),),
    BUYER: (("GEC-2024-001000", "GEC-2024-001999"),),
}


@dataclass
class Chain:
    server: LedgerServer
    client: LedgerClient
    operator: OrgSigner
    recycler: OrgSigner
    refiner: OrgSigner
    verifier: OrgSigner
    buyer: OrgSigner

    def submit(self, signer: OrgSigner, entry: dict[str, Any]) -> Any:
        return self.client.submit(signer.sign(entry))


@pytest.fixture
def chain(tmp_path: Path, db_url: str) -> Iterator[Chain]:
    with running_server(tmp_path, db_url) as server, LedgerClient(server.grpc_target) as client:
        operator = operator_of(server)
        parties = Chain(
            server,
            client,
            operator,
            enroll(client, operator, RECYCLER, "supplier"),
            enroll(client, operator, REFINER, "supplier"),
            enroll(client, operator, VERIFIER, "verifier"),
            enroll(client, operator, BUYER, "buyer"),
        )
        parties.submit(operator, cb.default_factor_set(operator.org))
        for registry in REGISTRIES:
            for org in (RECYCLER, REFINER, BUYER):
                issued = cb.registry_account(operator.org, registry, org, serials=ISSUED[org])
                parties.submit(operator, issued)
        yield parties


def rejected(chain: Chain, signer: OrgSigner, entry: dict[str, Any]) -> Rejected:
    size = chain.server.store.tree_size()
    with pytest.raises(Rejected) as err:
        chain.submit(signer, entry)
    assert chain.server.store.tree_size() == size, "a rejected entry must write nothing"
    return err.value
