"""Building and signing entries on the client side."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


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
