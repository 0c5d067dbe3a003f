"""What a submitter gets back once its entry is durably recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Receipt:
    entry_id: str
    seq: int
    leaf_hash: bytes
    chain_hash: bytes
    timestamp_us: int
    duplicate: bool = False  # the entryId was recorded before; this is the original receipt

    def to_json(self) -> dict[str, Any]:
        """The CLI's receipt line: hashes in lowercase hex."""
        return {
            "entryId": self.entry_id,
            "seq": self.seq,
            "leafHash": self.leaf_hash.hex(),
            "chainHash": self.chain_hash.hex(),
        }
