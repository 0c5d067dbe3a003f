"""Deterministic identities and ids for the demo (same seed, same log contents)."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class DemoOrg:
    key: str  # short name used in the chain description
    org_id: str
    name: str
    roles: tuple[str, ...]


ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(
        "recycler",
        "urn:pact:company:customcode:greencycle-recycling",
        "GreenCycle Battery Recycling",
        ("supplier",),
    ),
    DemoOrg(
        "refiner",
        "urn:pact:company:customcode:jiangxi-lithium-refining",
        "Jiangxi Lithium Refining",
        ("supplier",),
    ),
    DemoOrg(
        "cathode",
        "urn:pact:company:customcode:cathode-materials",
        "Cathode Materials Co.",
        ("supplier",),
    ),
    DemoOrg("cell", "urn:pact:company:customcode:lfp-cell-works", "LFP Cell Works", ("supplier",)),
    DemoOrg("parts", "urn:pact:company:customcode:alu-auto-parts", "Alu Auto Parts", ("supplier",)),
    DemoOrg("pack", "urn:pact:company:customcode:pack-systems", "Pack Systems", ("supplier",)),
    DemoOrg("buyer", "urn:pact:company:customcode:ev-motors", "EV Motors (buyer)", ("buyer",)),
    DemoOrg(
        "verifier",
        "urn:pact:company:customcode:tuv-example-certification",
        "Example Certification (third-party verifier)",
        ("verifier",),
    ),
    DemoOrg(
        "auditor", "urn:pact:company:customcode:ledger-auditors", "Ledger Auditors", ("auditor",)
    ),
)
BY_KEY = {org.key: org for org in ORGS}


class DemoIds:
    """Keys and UUIDs drawn from one seed, so the demo is reproducible."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        # Deterministic on purpose: the demo must be reproducible. Real clients draw
        # entryIds from uuid.uuid4(), whose randomness keeps entry hashes unguessable.
        self._rng = random.Random(seed)  # noqa: S311

    def private_key(self, name: str) -> Ed25519PrivateKey:
        material = hashlib.sha256(f"carbonledger-demo/{self.seed}/{name}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(material)

    def uuid4(self) -> str:
        return str(uuid.UUID(bytes=self._rng.randbytes(16), version=4))


def demo_entry(
    ids: DemoIds, entry_type: str, signer: str, members: dict[str, Any]
) -> dict[str, Any]:
    """An unsigned demo entry of ``signer`` (a demo org key, or ``operator``)."""
    org = "urn:carbonledger:org:operator" if signer == "operator" else BY_KEY[signer].org_id
    return {"type": entry_type, "entryId": ids.uuid4(), "org": org, **members}
