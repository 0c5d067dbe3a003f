"""An organisation's signing identity on the client side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients.sdk.entries import SignedEntry
from ledger.canonical import canonicalize
from ledger.keys import key_id, load_private_key, public_key_bytes
from ledger.request_token import make_token


@dataclass(frozen=True)
class OrgSigner:
    org: str
    private_key: Ed25519PrivateKey

    @classmethod
    def load(cls, path: Path, org: str) -> OrgSigner:
        return cls(org, load_private_key(path))

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.private_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def sign(self, entry: Mapping[str, Any]) -> SignedEntry:
        """Canonicalise (RFC 8785) and sign; refuses float quantities with their path."""
        data = canonicalize(entry)
        return SignedEntry(data, self.key_id, self.private_key.sign(data), str(entry["entryId"]))

    def request_token(self, method: str) -> str:
        """A fresh single-use token for one authenticated gRPC call to ``method``."""
        return make_token(self.private_key, self.org, method)
