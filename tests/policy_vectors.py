"""The shared tlog-policy vectors (``tests/data/tlog-policy/vectors.json``) made concrete:
keys from their seeds, signed checkpoint notes, policy texts with the vkeys filled in.
Both the Python test and the page's Chromium test read them from here. (No tests here.)"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.cosignatures import with_cosignatures
from ledger.note import Checkpoint, CosignatureSigner, NoteSigner, sign_checkpoint

VECTORS = Path(__file__).parent / "data" / "tlog-policy" / "vectors.json"
COSIGNED_AT = 1_767_225_700


@dataclass(frozen=True)
class PolicyCase:
    """One policy text and what it must give: ``invalid`` (a text its refusal contains)
    or a verdict per note name: ``{"cosigners": [...]}`` or ``{"reason": "..."}``."""

    name: str
    text: str
    invalid: str | None
    verdicts: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Vectors:
    ledger_vkey: str
    notes: dict[str, str]
    cases: list[PolicyCase]

    def as_json(self) -> dict[str, Any]:
        """What the browser test hands to the page."""
        return {
            "ledgerVkey": self.ledger_vkey,
            "notes": self.notes,
            "cases": [vars(case) for case in self.cases],
        }


def load_vectors() -> Vectors:
    raw = json.loads(VECTORS.read_text())
    keys: dict[str, NoteSigner | CosignatureSigner] = {}
    for key_id, spec in raw["keys"].items():
        private = Ed25519PrivateKey.from_private_bytes(bytes([spec["seed"]]) * 32)
        kind = NoteSigner if spec["type"] == "log" else CosignatureSigner
        keys[key_id] = kind(spec["name"], private)
    body = Checkpoint(raw["origin"], 1000, bytes(range(32)))
    elsewhere = Checkpoint(raw["origin"], 999, bytes(32))
    notes = {name: _note(spec, keys, body, elsewhere) for name, spec in raw["notes"].items()}
    vkeys = {key_id: key.vkey for key_id, key in keys.items()}
    cases = [
        PolicyCase(
            case["name"],
            _fill(case["text"], vkeys),
            case.get("invalid"),
            case.get("verdicts", {}),
        )
        for case in raw["policies"]
    ]
    return Vectors(keys["log"].vkey, notes, cases)


def _note(
    spec: dict[str, Any],
    keys: dict[str, NoteSigner | CosignatureSigner],
    body: Checkpoint,
    elsewhere: Checkpoint,
) -> str:
    signer = keys[spec.get("signer", "log")]
    assert isinstance(signer, NoteSigner)
    lines = []
    for name in spec["cosigned"]:
        lines.append(_cosigner(keys, name).cosign(body.to_text(), COSIGNED_AT))
    for name in spec.get("impostors", ()):
        impostor = CosignatureSigner(_cosigner(keys, name).name, Ed25519PrivateKey.generate())
        lines.append(impostor.cosign(body.to_text(), COSIGNED_AT))
    for name in spec.get("copied", ()):
        lines.append(_cosigner(keys, name).cosign(elsewhere.to_text(), COSIGNED_AT))
    return with_cosignatures(sign_checkpoint(body, signer), lines)


def _cosigner(keys: dict[str, NoteSigner | CosignatureSigner], name: str) -> CosignatureSigner:
    key = keys[name]
    assert isinstance(key, CosignatureSigner)
    return key


def _fill(text: str, vkeys: dict[str, str]) -> str:
    for key_id, vkey in vkeys.items():
        text = text.replace("{" + key_id + "}", vkey)
    return text
