"""The demo's battery supply chain, as entries, built from the published figures.

A recycler recovers copper, aluminium, battery-grade Li2CO3 (one footprint per
batch) and nickel sulphate from retired packs; a refiner and a cathode maker
buy the recovered lithium, and the cathode maker's production scrap goes back
to the recycler from batch B018 on (the closed loop: the older batch B017 was
recorded before the cathode maker consented to being cited); a cell maker, an
auto-parts supplier making aluminium battery trays from recovered aluminium,
and a pack maker complete the chain. Grid electricity and natural gas come from
the ``cn-default`` factor set (FIGURES.md). Amounts are per declared unit.

Citing another org's product needs that owner's grant (``ledger.rules.carbon``), so
each supplier grants its product line to the suppliers that cite it, at summary level,
before they declare; the order of ``PRODUCTS`` puts every cited product before its
first citation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clients.demo.identities import BY_KEY, DemoIds, demo_entry
from clients.demo.sites import programme_steps
from ledger.entries.carbon import load_default_factors

FACTOR_SET = {"setId": "cn-default", "version": "2024.1"}
GRID = "electricity-grid-cn"
GAS = "natural-gas-combustion"
RA, MP, DI = "raw-material-acquisition", "main-production", "distribution"


@dataclass(frozen=True)
class ProductSpec:
    """One footprint to declare: who, what, and what it is made of per declared unit."""

    key: str
    org: str
    slug: str
    name: str
    unit: str
    mass_kg: str | None
    own: tuple[tuple[str, str, str], ...]  # (stage, scope, kgCO2e)
    inputs: tuple[dict[str, Any], ...]
    batch: str | None = None
    primary_share: str = "80"
    created: str = "2025-04-01T00:00:00Z"
    misdeclare_by: str | None = None  # a factor applied to the declared value (flagged claims)


def product_id(org_key: str, slug: str) -> str:
    return f"urn:pact:product:{org_key}:{slug}"


def _from(
    org_key: str,
    slug: str,
    amount: str,
    unit: str = "kilogram",
    recycled: tuple[str, str] | None = None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "productId": product_id(org_key, slug),
        "companyId": BY_KEY[org_key].org_id,
        "amount": amount,
        "unit": unit,
    }
    if recycled:
        line["recycledContent"] = {
            "share": recycled[0],
            "recyclingBurdenKgCO2ePerUnit": recycled[1],
        }
    return line


def _factor(key: str, amount: str, unit: str) -> dict[str, Any]:
    """Energy bought and burnt at the plant: main production; electricity is scope 2."""
    scope = "2" if key == GRID else "1"
    return {
        "factor": {**FACTOR_SET, "key": key},
        "amount": amount,
        "unit": unit,
        "stage": MP,
        "scope": scope,
    }


def _li2co3_batch(batch: str, kwh: str, created: str, *, scrap: bool) -> ProductSpec:
    scrap_input = (_from("cathode", "lfp-cathode", "0.04"),) if scrap else ()
    return ProductSpec(
        f"li2co3-{batch}",
        "recycler",
        "li2co3-bg",
        "Battery-grade Li2CO3 (recovered)",
        "kilogram",
        "1",
        ((MP, "1", "0.43"), (MP, "3", "0.12")),
        (
            _factor(GRID, kwh, "kilowatt hour"),
            _factor(GAS, "0.2", "cubic meter"),
            *scrap_input,  # cathode production scrap: the loop
        ),
        batch=batch,
        created=created,
        primary_share="78",
    )


PRODUCTS: tuple[ProductSpec, ...] = (
    _li2co3_batch("2025-03-B017", "3.0", "2025-04-01T00:00:00Z", scrap=False),
    ProductSpec(
        "copper",
        "recycler",
        "copper-recovered",
        "Recovered copper",
        "kilogram",
        "1",
        ((MP, "1", "0.18"),),
        (_factor(GRID, "1.6", "kilowatt hour"),),
    ),
    ProductSpec(
        "aluminium",
        "recycler",
        "aluminium-recovered",
        "Recovered aluminium",
        "kilogram",
        "1",
        ((MP, "1", "0.22"),),
        (_factor(GRID, "0.9", "kilowatt hour"),),
    ),
    ProductSpec(
        "nickel",
        "recycler",
        "niso4-recovered",
        "Recovered nickel sulphate",
        "kilogram",
        "1",
        ((MP, "1", "0.35"),),
        (_factor(GRID, "2.2", "kilowatt hour"),),
    ),
    ProductSpec(
        "li2co3-refined",
        "refiner",
        "li2co3-refined",
        "Refined Li2CO3 (40% recovered)",
        "kilogram",
        "1",
        ((RA, "3", "7.9"), (MP, "1", "0.8")),
        (_from("recycler", "li2co3-bg", "0.4"), _factor(GRID, "4.5", "kilowatt hour")),
        primary_share="65",
    ),
    ProductSpec(
        "lfp-cathode",
        "cathode",
        "lfp-cathode",
        "LFP cathode active material",
        "kilogram",
        "1",
        ((RA, "3", "3.1"), (MP, "1", "0.6")),
        (
            _from("refiner", "li2co3-refined", "0.26"),
            _factor(GRID, "6.0", "kilowatt hour"),
            _factor(GAS, "0.5", "cubic meter"),
        ),
        primary_share="70",
    ),
    ProductSpec(
        "tray",
        "parts",
        "battery-tray-al",
        "Aluminium battery tray (recycled aluminium)",
        "piece",
        None,
        ((MP, "1", "3.5"), (DI, "3", "0.8")),
        (_from("recycler", "aluminium-recovered", "26"), _factor(GRID, "30", "kilowatt hour")),
    ),
    ProductSpec(
        "lfp-cell",
        "cell",
        "lfp-cell-280ah",
        "LFP prismatic cell 280 Ah",
        "kilowatt hour",
        "5.5",
        ((RA, "3", "12.0"), (MP, "1", "1.1"), (MP, "2", "0.9")),
        (
            _from("cathode", "lfp-cathode", "2.1"),
            _from("recycler", "copper-recovered", "0.6"),
            _factor(GRID, "38", "kilowatt hour"),
        ),
        primary_share="62.5",
        misdeclare_by="0.80",  # claims 20 % less than its inputs imply
    ),
    ProductSpec(
        "lfp-pack",
        "pack",
        "lfp-pack-60kwh",
        "LFP battery pack 60 kWh",
        "kilowatt hour",
        "7.1",
        ((RA, "3", "4.0"), (MP, "1", "0.3"), (DI, "3", "0.5")),
        (
            _from("cell", "lfp-cell-280ah", "1", "kilowatt hour"),
            _from("parts", "battery-tray-al", "0.0166667", "piece"),
            _factor(GRID, "5", "kilowatt hour"),
        ),
        primary_share="85",
    ),
    # The newest batch, which citations of the product resolve to: it closes the loop.
    _li2co3_batch("2025-03-B018", "2.8", "2025-04-02T00:00:00Z", scrap=True),
)


@dataclass
class Step:
    """One submission of the demo: who signs what, and whether the ledger must refuse it."""

    signer: str
    entry: dict[str, Any]
    expect_rejection: bool = False
    note: str = ""


@dataclass
class DemoChain:
    steps: list[Step] = field(default_factory=list)
    footprint_ids: dict[str, str] = field(default_factory=dict)  # spec key -> footprint id
    entry_ids: dict[str, str] = field(default_factory=dict)  # spec key -> entry id


def _footprint_body(spec: ProductSpec, footprint_id: str, declared: str) -> dict[str, Any]:
    org = BY_KEY[spec.org]
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": spec.unit,
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": spec.mass_kg or "0",
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": "2025-01-01T00:00:00Z",
        "geographyCountry": "CN",
        "boundaryProcessesDescription": f"Cradle to gate: {spec.name.lower()}",
        "pcfExcludingBiogenicUptake": declared,
        "pcfIncludingBiogenicUptake": declared,
        "fossilGhgEmissions": declared,
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
        "exemptedEmissionsPercent": "0",
        "primaryDataShare": spec.primary_share,
        "dqi": {"technologicalDQR": "1.6", "geographicalDQR": "1.4", "temporalDQR": "1.2"},
    }
    return {
        "id": footprint_id,
        "specVersion": "3.0.0",
        "created": spec.created,
        "status": "Active",
        "companyName": org.name,
        "companyIds": [org.org_id],
        "productDescription": spec.name,
        "productIds": [product_id(spec.org, spec.slug)],
        "productClassifications": ["urn:pact:productclassification:un-cpc:46410"],
        "productNameCompany": spec.name,
        "comment": f"Batch {spec.batch}" if spec.batch else "Demo footprint",
        "pcf": pcf,
    }


def build_chain(ids: DemoIds, declared: Mapping[str, str] | None = None) -> DemoChain:
    """All demo entries in submission order. ``declared`` maps spec keys to the declared
    pcf strings (computed by the runner with the footprint engine before signing)."""
    chain = DemoChain()
    operator = "operator"
    chain.steps.append(
        Step(
            operator,
            demo_entry(ids, "factors.publish", operator, copy.deepcopy(load_default_factors())),
        )
    )
    granted: set[tuple[str, str, str]] = set()
    for spec in PRODUCTS:
        for line in spec.inputs:
            chain.steps.extend(_consent(ids, spec.org, line, granted))
        footprint_id = ids.uuid4()
        chain.footprint_ids[spec.key] = footprint_id
        composition: dict[str, Any] = {
            "ownEmissions": [{"stage": s, "scope": sc, "kgCO2e": kg} for s, sc, kg in spec.own],
            "inputs": [copy.deepcopy(i) for i in spec.inputs],
        }
        if spec.batch:
            composition["batchId"] = spec.batch
        value = (declared or {}).get(spec.key, "1")
        entry = demo_entry(
            ids,
            "footprint",
            spec.org,
            {"footprint": _footprint_body(spec, footprint_id, value), "composition": composition},
        )
        chain.entry_ids[spec.key] = entry["entryId"]
        chain.steps.append(Step(spec.org, entry))
    _add_programme(chain, ids)
    chain.steps.extend(Step(signer, entry) for signer, entry in programme_steps(ids))
    return chain


def _consent(
    ids: DemoIds, citing: str, line: Mapping[str, Any], granted: set[tuple[str, str, str]]
) -> list[Step]:
    """The owner's product-line grant that lets ``citing`` cite the product ``line`` names,
    unless it is ``citing``'s own product or was granted already."""
    owner = next((o.key for o in BY_KEY.values() if o.org_id == line.get("companyId")), None)
    if owner is None or owner == citing or (owner, line["productId"], citing) in granted:
        return []
    granted.add((owner, line["productId"], citing))
    members = {"grantee": BY_KEY[citing].org_id, "productId": line["productId"], "level": "summary"}
    return [Step(owner, demo_entry(ids, "grant", owner, members))]


def _account(org: str) -> str:
    """The demo org's account at the green certificate registry."""
    return f"GEC-ACCT-{org.upper()}"


# The green certificates the registry issued to each demo org's account.
_ISSUED = {"cell": (1, 500), "pack": (501, 1000)}


def _serials(first: int, last: int) -> dict[str, str]:
    return {"first": f"GEC-2024-{first:06d}", "last": f"GEC-2024-{last:06d}"}


def _bind_account(ids: DemoIds, org: str) -> dict[str, Any]:
    """The operator binds ``org``'s registry account and the serials the registry
    issued to it, so it may retire them."""
    members = {
        "registry": "cn-gec",
        "accountId": _account(org),
        "orgId": BY_KEY[org].org_id,
        "serialRanges": [_serials(*_ISSUED[org])],
    }
    return demo_entry(ids, "registry.account", "operator", members)


def _retire(ids: DemoIds, org: str, first: int, last: int) -> dict[str, Any]:
    return demo_entry(
        ids,
        "instrument.retire",
        org,
        {
            "registry": "cn-gec",
            "accountId": _account(org),
            "kind": "GEC",
            "serials": _serials(first, last),
            "quantity": str(last - first + 1),
            "unit": "MWh",
            "vintage": 2024,
            "beneficiary": {"org": BY_KEY[org].org_id},
        },
    )


def _add_programme(chain: DemoChain, ids: DemoIds) -> None:
    steps = chain.steps
    owners = {spec.key: spec.org for spec in PRODUCTS}
    for key in ("li2co3-2025-03-B017", "lfp-cell"):
        # A verifier attests what it has read: the owner grants it detail access first.
        members = {
            "grantee": BY_KEY["verifier"].org_id,
            "footprintId": chain.footprint_ids[key],
            "level": "detail",
        }
        steps.append(Step(owners[key], demo_entry(ids, "grant", owners[key], members)))
        steps.append(
            Step(
                "verifier",
                demo_entry(
                    ids,
                    "attestation",
                    "verifier",
                    {
                        "footprintEntryId": chain.entry_ids[key],
                        "standard": "ISO14067",
                        "assuranceLevel": "limited",
                        "boundary": "cradle-to-gate",
                        "validFrom": "2026-06-01T00:00:00Z",
                        "validUntil": "2027-06-01T00:00:00Z",
                        "certificateId": f"CFP-2025-{len(steps):04d}",
                    },
                ),
            )
        )
    for org in ("cell", "pack"):
        steps.append(Step("operator", _bind_account(ids, org)))
    steps.append(Step("cell", _retire(ids, "cell", 1, 500)))
    steps.append(Step("pack", _retire(ids, "pack", 501, 800)))
    steps.append(
        Step(
            "pack",
            _retire(ids, "pack", 791, 800),
            expect_rejection=True,
            note="the same green certificates claimed twice",
        )
    )
    # The buyer sees the pack and the cell in detail and the cathode at summary level;
    # the rest of the chain reaches it only as "undisclosed upstream" (graph.cut).
    buyer = BY_KEY["buyer"].org_id
    for owner, slug, level in (
        ("pack", "lfp-pack-60kwh", "detail"),
        ("cell", "lfp-cell-280ah", "detail"),
        ("cathode", "lfp-cathode", "summary"),
    ):
        members = {"grantee": buyer, "productId": product_id(owner, slug), "level": level}
        steps.append(Step(owner, demo_entry(ids, "grant", owner, members)))
    for supplier in ("pack", "cell"):
        # The buyer's target opens nothing: the supplier grants its inventories.
        steps.append(
            Step(
                supplier,
                demo_entry(ids, "grant", supplier, {"grantee": buyer, "inventory": True}),
            )
        )
        steps.append(
            Step(
                "buyer",
                demo_entry(
                    ids,
                    "target",
                    "buyer",
                    {
                        "supplier": BY_KEY[supplier].org_id,
                        "metric": "absolute-tco2e",
                        "scopes": ["1", "2"],
                        "baseYear": 2021,
                        "baseValue": "12000",
                        "targetYear": 2025,
                        "targetValue": "6000",
                    },
                ),
            )
        )
        for year, s1, s2 in (
            (2021, "4800", "7200"),
            (2023, "3900", "5300"),
            (2025, "2950", "4010"),
        ):
            steps.append(
                Step(
                    supplier,
                    demo_entry(
                        ids,
                        "inventory",
                        supplier,
                        {
                            "reportingYear": year,
                            "scope1TCO2e": s1,
                            "scope2TCO2e": s2,
                            "electricityMWh": "15750",
                            "renewableElectricityMWh": "5012",
                        },
                    ),
                )
            )
