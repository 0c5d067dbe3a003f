"""The demo's zero-carbon supplier programme (issue 19): three suppliers' factories
rated for 2024, the buyer reading them through inventory grants, one certified.

* the cell maker's Hefei plant: 2,298.48 t scope 1, its 5,000 MWh all backed by
  green certificates, 2,299 t of credits retired for it: type I five stars, certified
  by the demo verifier (the rated example of the group standards);
* the pack maker's Changsha plant: a residual of 3,000 t, 1,500 t offset: three stars;
* the cathode maker's Yibin plant: claims 2,000 MWh of renewable electricity that no
  certificate or meter backs: an unbacked claim, no level.

Each plant reported 2023 higher, so each has its own reduction. The verifier rates
the plant as it evaluates what it read (``ledger.zero_carbon``, the ledger's own method).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clients.demo.identities import BY_KEY, DemoIds, demo_entry
from gateway.zero_carbon_body import evaluation_out
from ledger.entries import parse_entry
from ledger.rules import MemoryCarbonView
from ledger.rules.sites import apply_site_rules
from ledger.zero_carbon import (
    SiteReader,
    evaluate_site,
    result_digest,
    site_attestations,
)

YEAR = 2024
# Registries of the programme's instruments, apart from the chain's certificates.
GEC_REGISTRY, CCER_REGISTRY = "cn-gec-sites", "cn-ccer"


@dataclass(frozen=True)
class DemoSite:
    org: str  # demo org key
    slug: str
    name: str
    inventories: dict[int, dict[str, str]]  # year -> inventory members
    certificates_mwh: int
    credits_t: int

    @property
    def urn(self) -> str:
        return f"urn:carbonledger:site:{self.org}:{self.slug}"


def _inventory(s1: str, s2: str, mwh: str, green: str = "0") -> dict[str, str]:
    return {
        "scope1TCO2e": s1,
        "scope2TCO2e": s2,
        "electricityMWh": mwh,
        "renewableElectricityMWh": green,
    }


SITES: tuple[DemoSite, ...] = (
    DemoSite(
        "cell",
        "hefei",
        "LFP Cell Works, Hefei plant",
        {2023: _inventory("2600", "3200", "5000"), YEAR: _inventory("2298.48", "3000", "5000")},
        certificates_mwh=5000,
        credits_t=2299,
    ),
    DemoSite(
        "pack",
        "changsha",
        "Pack Systems, Changsha plant",
        {2023: _inventory("1300", "1900", "3000"), YEAR: _inventory("1200", "1800", "3000")},
        certificates_mwh=0,
        credits_t=1500,
    ),
    DemoSite(
        "cathode",
        "yibin",
        "Cathode Materials, Yibin plant",
        {
            2023: _inventory("900", "1700", "4000"),
            YEAR: _inventory("850", "1600", "4000", green="2000"),
        },
        certificates_mwh=0,
        credits_t=0,
    ),
)
CERTIFIED = SITES[0]


def _retire(
    ids: DemoIds, site: DemoSite, registry: str, kind: str, count: int
) -> list[tuple[str, dict[str, Any]]]:
    """The operator binds the org's account with ``count`` serials; the org retires them
    all for the site's year."""
    org = BY_KEY[site.org].org_id
    account = f"{kind}-ACCT-{site.org.upper()}"
    serials = {
        "first": f"{kind}-{site.org.upper()}-{1:06d}",
        "last": f"{kind}-{site.org.upper()}-{count:06d}",
    }
    bind = {"registry": registry, "accountId": account, "orgId": org, "serialRanges": [serials]}
    credit = kind == "CCER"
    members: dict[str, Any] = {
        "registry": registry,
        "accountId": account,
        "kind": kind,
        "serials": serials,
        "quantity": str(count),
        "unit": "tCO2e" if credit else "MWh",
        "vintage": YEAR,
        "beneficiary": {
            "org": org,
            "site": site.urn,
            "reportingPeriod": {
                "start": f"{YEAR}-01-01T00:00:00+08:00",
                "end": f"{YEAR + 1}-01-01T00:00:00+08:00",
            },
        },
    }
    if credit:
        members["creditType"] = "avoidance"
    return [
        ("operator", demo_entry(ids, "registry.account", "operator", bind)),
        (site.org, demo_entry(ids, "instrument.retire", site.org, members)),
    ]


def _site_entries(ids: DemoIds, site: DemoSite) -> list[tuple[str, dict[str, Any]]]:
    enroll = {"site": site.urn, "name": site.name, "location": {"country": "CN"}}
    steps = [(site.org, demo_entry(ids, "site.enroll", site.org, enroll))]
    for year, members in sorted(site.inventories.items()):
        body = {"reportingYear": year, "site": site.urn, **members}
        steps.append((site.org, demo_entry(ids, "inventory", site.org, body)))
    if site.certificates_mwh:
        steps += _retire(ids, site, GEC_REGISTRY, "GEC", site.certificates_mwh)
    if site.credits_t:
        steps += _retire(ids, site, CCER_REGISTRY, "CCER", site.credits_t)
    return steps


def _rating(ids: DemoIds, site: DemoSite, read: list[dict[str, Any]]) -> dict[str, Any]:
    """The verifier's ``site.attestation`` of what it read, evaluated by the ledger's
    method (the digest covers entry ids and figures, not log positions)."""
    view = MemoryCarbonView()
    for position, raw in enumerate(read):
        apply_site_rules(parse_entry(raw), position, bytes(32), view)
    evaluation = evaluate_site(SiteReader(view, view.site_record), site.urn, YEAR)
    members = {
        "site": site.urn,
        "year": YEAR,
        "level": evaluation.level,
        "factoryType": evaluation.factory_type or "I",
        "inputs": evaluation.input_ids,
        "resultDigest": result_digest(evaluation),
        "comment": "Zero-carbon factory evaluation, T/CECA group standard method",
    }
    return demo_entry(ids, "site.attestation", "verifier", members)


def programme_steps(ids: DemoIds) -> list[tuple[str, dict[str, Any]]]:
    """(signer key, entry) of the programme, in submission order. The chain already
    holds the pack's and the cell's inventory grants to the buyer; the verifier rates
    the certified plant under the cell maker's inventory grant."""
    buyer, verifier = BY_KEY["buyer"].org_id, BY_KEY["verifier"].org_id
    steps = [
        ("cathode", demo_entry(ids, "grant", "cathode", {"grantee": buyer, "inventory": True}))
    ]
    read: list[dict[str, Any]] = []
    for site in SITES:
        entries = _site_entries(ids, site)
        steps += entries
        if site is CERTIFIED:
            read = [entry for _, entry in entries]
    grant = {"grantee": verifier, "inventory": True}
    steps.append((CERTIFIED.org, demo_entry(ids, "grant", CERTIFIED.org, grant)))
    steps.append(("verifier", _rating(ids, CERTIFIED, read)))
    return steps


def programme_lines(reader: SiteReader) -> list[str]:
    """The walkthrough's lines on the programme: each plant's 2024 evaluation from the
    log (``reader``), as the gateway serves it."""
    lines = []
    for site in SITES:
        evaluation = evaluate_site(reader, site.urn, YEAR)
        owner = BY_KEY[site.org]
        served = evaluation_out(
            evaluation, owner.org_id, 0, site_attestations(reader, site.urn, YEAR)
        )
        rated = (
            "no level"
            if served.stars is None
            else f"{served.stars} stars type {served.factoryType}"
        )
        lines.append(f"  {site.name}: {rated}")
        lines.append(
            f"      renewable {served.renewable.sharePercent} %, offsets "
            f"{served.offsetRatioPercent} % of the residual"
            + (
                f", UNBACKED renewable claim {served.renewable.unbackedClaimMWh} MWh"
                if evaluation.unbacked_claim_mwh
                else ""
            )
        )
        lines.extend(f"      certified by {a.verifier}: {a.status}" for a in served.attestations)
    return lines
