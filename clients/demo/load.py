"""Loading the demo chain into a running ledger, through the real signed-entry path."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from clients.demo.chain import PRODUCTS, DemoChain, build_chain
from clients.demo.identities import ORGS, DemoIds, DemoOrg
from clients.sdk import LedgerClient, OrgSigner, Rejected, new_entry
from graph.ledger_adapter import ActiveFootprints
from ledger.datadir import DEFAULT_OPERATOR_ORG
from ledger.entries import parse_entry
from ledger.keys import encode_public_key, save_private_key
from ledger.receipt import Receipt

DEFAULT_SEED = 2025


@dataclass
class LoadedDemo:
    chain: DemoChain
    receipts: list[Receipt] = field(default_factory=list)
    rejections: list[tuple[str, Rejected]] = field(default_factory=list)
    key_files: dict[str, Path] = field(default_factory=dict)


def declared_values(seed: int) -> dict[str, str]:
    """What each supplier declares: its own cradle-to-gate result, as its LCA tool would give
    (here: our engine over the chain), except where the spec misdeclares on purpose."""
    ids = DemoIds(seed)
    draft = build_chain(ids)
    active = ActiveFootprints()
    # The enrolments bind each org's company id, through which inputs cite its products.
    for org in ORGS:
        signer = OrgSigner(org.org_id, ids.private_key(org.key))
        active.apply(parse_entry(_enrolment(DEFAULT_OPERATOR_ORG, org, signer)))
    for step in draft.steps:
        active.apply(parse_entry(step.entry))
    engine = active.engine()
    values = {}
    for spec in PRODUCTS:
        value = Decimal(repr(engine.total(draft.footprint_ids[spec.key])))
        if spec.misdeclare_by:
            value *= Decimal(spec.misdeclare_by)
        values[spec.key] = str(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))
    return values


def _enrolment(operator_org: str, org: DemoOrg, signer: OrgSigner) -> dict[str, Any]:
    """The operator's ``org.enroll`` of a demo org (its company id is its URN)."""
    return new_entry(
        "org.enroll",
        operator_org,
        orgId=org.org_id,
        name=org.name,
        roles=list(org.roles),
        publicKey=encode_public_key(signer.public_key),
    )


def load_demo(
    target: str, operator: OrgSigner, key_dir: Path, *, seed: int = DEFAULT_SEED
) -> LoadedDemo:
    """Enrol the demo organisations and submit the chain; refusals the demo expects
    (a certificate claimed twice) are recorded, any other refusal is an error."""
    ids = DemoIds(seed)
    signers = {"operator": operator}
    key_dir.mkdir(parents=True, exist_ok=True)
    loaded = LoadedDemo(build_chain(DemoIds(seed), declared_values(seed)))
    with LedgerClient(target) as client:
        for org in ORGS:
            key = ids.private_key(org.key)
            path = key_dir / f"{org.key}.key"
            if not path.exists():
                save_private_key(key, path)
            loaded.key_files[org.key] = path
            signers[org.key] = OrgSigner(org.org_id, key)
            enrolment = _enrolment(operator.org, org, signers[org.key])
            loaded.receipts.append(client.submit(operator.sign(enrolment)))
        for step in loaded.chain.steps:
            try:
                loaded.receipts.append(client.submit(signers[step.signer].sign(step.entry)))
            except Rejected as exc:
                if not step.expect_rejection:
                    raise
                loaded.rejections.append((step.note, exc))
            else:
                if step.expect_rejection:
                    raise RuntimeError(f"the ledger accepted what it must refuse: {step.note}")
    return loaded
