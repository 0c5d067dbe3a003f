"""Realistic carbon-data entries for tests (battery recycling chain, FIGURES.md figures)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clients.sdk import new_entry
from ledger.entries.carbon import load_default_factors

_EXAMPLE = json.loads(
    (Path(__file__).parent / "data" / "entries" / "footprint-lfp-cell.json").read_text()
)


def footprint_entry(
    org: str,
    product: str,
    *,
    inputs: list[dict[str, Any]] | None = None,
    preceding: list[str] | None = None,
    batch: str | None = None,
    unit: str = "kilogram",
    pcf: str = "3.21",
) -> dict[str, Any]:
    """A PACT v3 footprint of ``org``'s ``product`` with a composition per declared unit."""
    body = copy.deepcopy(_EXAMPLE["footprint"])
    body.update(id=str(uuid.uuid4()), companyIds=[org], productIds=[product])
    body["companyName"] = org.rsplit(":", 1)[-1]
    body["pcf"].update(
        declaredUnitOfMeasurement=unit,
        pcfExcludingBiogenicUptake=pcf,
        pcfIncludingBiogenicUptake=pcf,
        fossilGhgEmissions=pcf,
    )
    if unit != "kilogram":
        body["pcf"].pop("productMassPerDeclaredUnit", None)
    else:
        body["pcf"]["productMassPerDeclaredUnit"] = body["pcf"]["declaredUnitAmount"]
    if preceding:
        body["precedingPfIds"] = preceding
    composition: dict[str, Any] = {
        "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": "0.9"}],
        "inputs": inputs or [],
    }
    if batch:
        composition["batchId"] = batch
    return new_entry("footprint", org, footprint=body, composition=composition)


def default_factor_set(org: str) -> dict[str, Any]:
    return new_entry("factors.publish", org, **load_default_factors())


def grid_electricity(kwh: str) -> dict[str, Any]:
    ref = {"setId": "cn-default", "version": "2024.1", "key": "electricity-grid-cn"}
    return {"factor": ref, "amount": kwh, "unit": "kilowatt hour"}


def account_of(org: str) -> str:
    """The registry account id the tests' operator binds to ``org`` (``registry_account``)."""
    return "acct-" + org.rsplit(":", 1)[-1]


def registry_account(
    operator: str,
    registry: str,
    org: str,
    account: str | None = None,
    serials: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The operator's binding of ``org``'s account (default ``account_of(org)``) at
    ``registry``, with the ``(first, last)`` serial ranges the registry issued to it."""
    return new_entry(
        "registry.account",
        operator,
        registry=registry,
        accountId=account or account_of(org),
        orgId=org,
        serialRanges=[{"first": first, "last": last} for first, last in serials],
    )


def retirement(
    org: str,
    registry: str,
    first: str,
    last: str,
    *,
    kind: str = "GEC",
    account: str | None = None,
) -> dict[str, Any]:
    """``org`` retires ``first..last`` from ``account`` (default ``account_of(org)``)."""
    count = int(last[-6:]) - int(first[-6:]) + 1
    credit = kind in {"CCER", "VCS", "GoldStandard", "forestry"}
    members: dict[str, Any] = {
        "registry": registry,
        "accountId": account or account_of(org),
        "kind": kind,
        "serials": {"first": first, "last": last},
        "quantity": str(count),
        "unit": "tCO2e" if credit else "MWh",
        "vintage": 2024,
        "beneficiary": {"org": org},
    }
    if credit:
        members["creditType"] = "avoidance"
    return new_entry("instrument.retire", org, **members)


def attestation(verifier: str, footprint_entry_id: str) -> dict[str, Any]:
    return new_entry(
        "attestation",
        verifier,
        footprintEntryId=footprint_entry_id,
        standard="ISO14067",
        assuranceLevel="limited",
        boundary="cradle-to-gate",
        validFrom="2025-05-01T00:00:00Z",
        validUntil="2026-05-01T00:00:00Z",
    )


def grant(
    owner: str,
    grantee: str,
    *,
    footprint_id: str | None = None,
    product_id: str | None = None,
    level: str = "summary",
) -> dict[str, Any]:
    scope = {"footprintId": footprint_id} if footprint_id else {"productId": product_id}
    return new_entry("grant", owner, grantee=grantee, level=level, **scope)


def target(buyer: str, supplier: str, **overrides: Any) -> dict[str, Any]:
    """A buyer's target for a supplier: scopes 1 and 2 from 1000 t in 2022 to 600 t in 2030."""
    members: dict[str, Any] = {
        "supplier": supplier,
        "metric": "absolute-tco2e",
        "scopes": ["1", "2"],
        "baseYear": 2022,
        "baseValue": "1000",
        "targetYear": 2030,
        "targetValue": "600",
    }
    return new_entry("target", buyer, **{**members, **overrides})


def inventory_grant(owner: str, grantee: str, **window: str) -> dict[str, Any]:
    """``owner`` lets ``grantee`` read its inventories and progress, within ``window``
    (``validFrom``, ``validUntil``) if given."""
    return new_entry("grant", owner, grantee=grantee, inventory=True, **window)
