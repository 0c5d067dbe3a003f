"""Entries of the zero-carbon factory programme for tests: sites, site inventories,
on-site generation readings and retirements for a site-year."""

from __future__ import annotations

from typing import Any

from clients.sdk import new_entry
from tests import carbon_builders as cb


def site_urn(slug: str) -> str:
    return f"urn:carbonledger:site:{slug}"


def site_enroll(org: str, site: str, country: str = "CN") -> dict[str, Any]:
    return new_entry(
        "site.enroll",
        org,
        site=site,
        name=site.rsplit(":", 1)[-1],
        location={"country": country, "region": "Jiangxi"},
    )


def site_inventory(org: str, site: str, year: int, **members: Any) -> dict[str, Any]:
    """``org``'s inventory of ``site`` for ``year``; scope 1 100 t, scope 2 200 t (location)
    unless ``members`` say otherwise."""
    body: dict[str, Any] = {
        "reportingYear": year,
        "scope1TCO2e": "100",
        "scope2TCO2e": "200",
        "electricityMWh": "400",
        "renewableElectricityMWh": "0",
        "site": site,
    }
    return new_entry("inventory", org, **{**body, **members})


def generation_batch(org: str, site: str, kwh: str, year: int = 2024) -> dict[str, Any]:
    """One month of on-site renewable generation metered at ``site``."""
    reading = {
        "meterId": "pv-1",
        "stage": "onsite-renewable-generation",
        "intervalStart": f"{year}-06-01T00:00:00+08:00",
        "intervalEnd": f"{year}-07-01T00:00:00+08:00",
        "quantity": kwh,
        "unit": "kWh",
        "quality": "measured",
    }
    return new_entry("activity.batch", org, site=site, collectorId="edge-1", readings=[reading])


def site_retirement(
    org: str,
    site: str,
    first: str,
    last: str,
    *,
    year: int = 2024,
    kind: str = "GEC",
    credit_type: str = "avoidance",
    generator: str | None = None,
    account: str | None = None,
    registry: str = "gec-cn",
) -> dict[str, Any]:
    """``org`` retires ``first..last`` for ``site``'s reporting year ``year``."""
    entry = cb.retirement(org, registry, first, last, kind=kind, account=account)
    entry["vintage"] = year
    entry["beneficiary"] = {
        "org": org,
        "site": site,
        "reportingPeriod": {
            "start": f"{year}-01-01T00:00:00+08:00",
            "end": f"{year + 1}-01-01T00:00:00+08:00",
        },
    }
    if "creditType" in entry:
        entry["creditType"] = credit_type
    if generator is not None:
        entry["generator"] = {"site": generator}
    return entry
