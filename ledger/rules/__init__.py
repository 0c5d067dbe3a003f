"""The rules an entry must pass to be recorded, shared by the sequencer and the auditor.

signer = identity.resolve_signer(key_id, entry)   # known, active, the org's, right purpose
check_entry(entry, signer, identity, carbon, timestamp_us)  # roles, identity, carbon rules
... append the record ...
apply_entry(entry, seq, leaf_hash, identity, carbon)
"""

from __future__ import annotations

from ledger.entries import Entry
from ledger.rules.carbon import apply_carbon, check_carbon
from ledger.rules.identity import IdentityState, KeyState, OrgState
from ledger.rules.memory import MemoryCarbonView
from ledger.rules.view import (
    CarbonView,
    FactorFacts,
    FootprintFacts,
    GenerationSpan,
    GrantFacts,
    SerialSpan,
    SiteInput,
)


def check_entry(
    entry: Entry, signer: KeyState, identity: IdentityState, carbon: CarbonView, timestamp_us: int
) -> None:
    """Raise an ``EntryRejectedError`` unless ``signer`` may record ``entry`` now, in a record
    stamped ``timestamp_us`` (grants are judged live at that signed time, so a replay agrees)."""
    identity.authorize(entry, signer)
    check_carbon(entry, identity, carbon, timestamp_us)


def apply_entry(
    entry: Entry, seq: int, leaf_hash: bytes, identity: IdentityState, carbon: CarbonView
) -> None:
    """Advance both states past ``entry``, recorded at ``seq`` with ``leaf_hash``."""
    apply_carbon(entry, seq, leaf_hash, carbon)
    identity.apply(entry, seq)


__all__ = [
    "CarbonView",
    "FactorFacts",
    "FootprintFacts",
    "GenerationSpan",
    "GrantFacts",
    "IdentityState",
    "KeyState",
    "MemoryCarbonView",
    "OrgState",
    "SerialSpan",
    "SiteInput",
    "apply_entry",
    "check_entry",
]
