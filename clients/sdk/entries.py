"""Building and signing entries on the client side."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ledger.keys import encode_public_key


@dataclass(frozen=True)
class SignedEntry:
    """Canonical entry bytes with the signer's key id and signature: one submission."""

    entry: bytes
    key_id: bytes
    signature: bytes
    entry_id: str


def new_entry(entry_type: str, org: str, **members: Any) -> dict[str, Any]:
    """An entry object with a fresh random ``entryId``; members are the type's own."""
    return {"type": entry_type, "entryId": str(uuid.uuid4()), "org": org, **members}


def collector_key_entry(org: str, collector_public_key: bytes) -> dict[str, Any]:
    """The ``key.add`` entry by which ``org`` registers an edge collector's key. Sign
    it with the org's own key; the collector's key then signs ``activity.batch`` only."""
    return new_entry(
        "key.add",
        org,
        orgId=org,
        purpose="collector",
        publicKey=encode_public_key(collector_public_key),
    )
