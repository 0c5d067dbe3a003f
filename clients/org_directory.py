"""Who is enrolled on a ledger, for ``carbonledger org list``.

Read through the path the ledger itself trusts for identities
(``ledger.committed_identity``: the committed identity entries of the store, applied
in order), so the list shows the roles and company ids the rules check, not a
second reading of the entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clients.cli_params import require_existing_store
from ledger.committed_identity import CommittedIdentity
from ledger.store.database import Database
from ledger.store.log import LogStore


@dataclass(frozen=True)
class EnrolledOrg:
    org_id: str
    name: str
    roles: tuple[str, ...]
    company_ids: tuple[str, ...]
    seq: int  # the record that enrolled it
    has_signing_key: bool  # False once its key was revoked and none replaced it

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org_id,
            "name": self.name,
            "roles": list(self.roles),
            "companyIds": list(self.company_ids),
            "enrolledSeq": self.seq,
            "hasSigningKey": self.has_signing_key,
        }


def enrolled_orgs(url: str) -> Iterator[EnrolledOrg]:
    """The orgs enrolled in the store at ``url``, in enrolment order."""
    require_existing_store(url)
    db = Database(url)
    try:
        state = CommittedIdentity(LogStore(db)).catch_up()
    finally:
        db.dispose()
    for org in sorted(state.orgs.values(), key=lambda o: o.enrolled_seq):
        yield EnrolledOrg(
            org.org_id,
            org.name,
            tuple(sorted(org.roles)),
            tuple(sorted(org.company_ids)),
            org.enrolled_seq,
            org.signing_key is not None,
        )
