"""Entries the benchmarks record: realistic in shape, built and signed before any timing."""

from __future__ import annotations

import uuid
from typing import Any

from clients.sdk import LedgerClient, OrgSigner, new_entry
from ledger.keys import encode_public_key, new_private_key


def footprint(
    org: str,
    product: str,
    inputs: list[dict[str, Any]],
    *,
    preceding: list[str] | None = None,
) -> dict[str, Any]:
    """``org``'s PACT v3 footprint of 1 kg of ``product``: 5 kgCO2e own emissions and
    ``inputs``; ``preceding`` are the footprints it supersedes."""
    fp: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "specVersion": "3.0.0",
        "created": "2025-03-01T00:00:00Z",
        "status": "Active",
        "companyName": org.rsplit(":", 1)[-1],
        "companyIds": [org],
        "productDescription": "Benchmark product",
        "productIds": [product],
        "productClassifications": ["urn:pact:productclassification:un-cpc:46410"],
        "productNameCompany": product.rsplit(":", 1)[-1],
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "1",
            "referencePeriodStart": "2024-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-01-01T00:00:00Z",
            "geographyCountry": "CN",
            "pcfExcludingBiogenicUptake": "25",
            "pcfIncludingBiogenicUptake": "25",
            "fossilGhgEmissions": "25",
            "fossilCarbonContent": "0",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "primaryDataShare": "60",
        },
    }
    if preceding:
        fp["precedingPfIds"] = preceding
    return new_entry(
        "footprint",
        org,
        footprint=fp,
        composition={
            "ownEmissions": [{"stage": "main-production", "scope": "1", "kgCO2e": "5"}],
            "inputs": inputs,
        },
    )


def enroll(client: LedgerClient, operator: OrgSigner, org: str, role: str) -> OrgSigner:
    """Enrol ``org`` with a fresh key (recorded now) and return its signer."""
    signer = OrgSigner(org, new_private_key())
    client.submit(
        operator.sign(
            new_entry(
                "org.enroll",
                operator.org,
                orgId=org,
                name=org,
                roles=[role],
                publicKey=encode_public_key(signer.public_key),
            )
        )
    )
    return signer
