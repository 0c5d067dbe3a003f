"""Entry types: the envelope, the registry and every type the ledger records.

Importing this package registers all types, so ``parse_entry`` knows them.
"""

from ledger.entries import carbon, identity
from ledger.entries.base import ALL_ROLES, ENTRY_TYPES, Entry, entry_type, parse_entry
from ledger.entries.identity import KeyRevoke, KeyRotate, OrgEnroll

__all__ = [
    "ALL_ROLES",
    "ENTRY_TYPES",
    "Entry",
    "KeyRevoke",
    "KeyRotate",
    "OrgEnroll",
    "carbon",
    "entry_type",
    "identity",
    "parse_entry",
]
