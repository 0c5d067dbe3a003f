"""The data directory: the ledger's and the operator's keys, and the SQLite default.

``ledger.key`` signs checkpoints (its public half, in C2SP vkey form, is what
auditors pin); ``operator.key`` signs enrolments. Both are created on first
start with mode 0600. Processes that scale out over one PostgreSQL database
share the same data directory contents (the keys), not the SQLite file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.keys import load_private_key, new_private_key, save_private_key
from ledger.store.database import sqlite_url

DEFAULT_DATA_DIR = Path("carbonledger-data")
DEFAULT_ORIGIN = "carbonledger.local/log"
DEFAULT_OPERATOR_ORG = "urn:carbonledger:org:operator"


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def ledger_key_path(self) -> Path:
        return self.path / "ledger.key"

    @property
    def operator_key_path(self) -> Path:
        return self.path / "operator.key"

    def default_db_url(self) -> str:
        return sqlite_url(self.path)

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        for key_path in (self.ledger_key_path, self.operator_key_path):
            if not key_path.exists():
                save_private_key(new_private_key(), key_path)

    def ledger_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.ledger_key_path)

    def operator_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.operator_key_path)
