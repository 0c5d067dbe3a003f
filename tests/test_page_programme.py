"""The programme page (``#/programme``) in headless Chromium over a real ledger and
gateway loaded with the demo (issue 19): the buyer's suppliers and their plants, with
what ``GET /v1/programmes/suppliers`` serves, and an invalidated certification shown
as such once the supplier restates the rated year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, Response, expect

from clients.demo.identities import BY_KEY, DemoIds, demo_entry
from clients.demo.sites import SITES, YEAR
from clients.sdk import LedgerClient, OrgSigner
from tests.page_support import DemoSite
from tests.test_page import _log_in, browser, page, site

__all__ = ["browser", "page", "site"]  # the fixtures, imported for pytest

FIVE, THREE, UNBACKED = (s.urn for s in SITES)


def _served(site: DemoSite) -> dict[str, Any]:
    token = httpx.post(
        f"{site.url}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(site.client_id, site.client_secret),
    ).json()["access_token"]
    answer = httpx.get(
        f"{site.url}/v1/programmes/suppliers", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _open(page: Page, site: DemoSite) -> None:
    _log_in(page, site, site.client_secret)
    expect(page.locator("#products-status")).to_contain_text("shared")
    page.click("#nav-programme")
    expect(page.locator("#programme-status")).to_contain_text("3 suppliers share")


def _row(page: Page, urn: str) -> Any:
    return page.locator(f'#programme-list tr.site-row[data-site="{urn}"]')


def test_the_programme_page_shows_each_plant_as_served(
    site: DemoSite, page: Page, tmp_path: Path
) -> None:
    served = {s["site"]: s for supplier in _served(site)["suppliers"] for s in supplier["sites"]}
    failed: list[str] = []

    def watch(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", watch)
    _open(page, site)
    expect(page.locator("#programme-list tr.site-row")).to_have_count(3)
    five, three, unbacked = _row(page, FIVE), _row(page, THREE), _row(page, UNBACKED)
    expect(five.locator("td.level")).to_have_text("★★★★★ type I")
    expect(five.locator("td.renewable")).to_have_text("100.0 %")
    expect(five.locator("td.offset")).to_contain_text(
        f"{float(served[FIVE]['offsetRatioPercent']):.1f} %"
    )
    expect(five.locator("td.attestation-badge .badge.ok")).to_have_text("certified · current")
    expect(five.locator("td.warnings")).to_have_text("")
    expect(three.locator("td.level")).to_have_text("★★★ type I")
    expect(three.locator("td.offset")).to_have_text("50.0 %")
    expect(three.locator("td.attestation-badge")).to_have_text("not certified")
    expect(unbacked.locator("td.level")).to_contain_text("no level")
    expect(unbacked.locator("td.warnings .badge.bad")).to_have_text(
        "unbacked renewable claim: 2,000 MWh"
    )
    expect(unbacked.locator("td.renewable")).to_have_text("0.0 %")
    page.screenshot(path=str(tmp_path / "programme.png"))
    assert failed == []


def test_a_restated_year_shows_the_certification_invalidated(site: DemoSite, page: Page) -> None:
    certified = SITES[0]
    signer = OrgSigner(BY_KEY[certified.org].org_id, DemoIds(2025).private_key(certified.org))
    body = {"reportingYear": YEAR, "site": certified.urn, **certified.inventories[YEAR]}
    body["scope1TCO2e"] = "2400"
    restated = demo_entry(DemoIds(99), "inventory", certified.org, body)
    with LedgerClient(site.server.grpc_target) as client:
        client.submit(signer.sign(restated))
    _open(page, site)
    badge = _row(page, FIVE).locator("td.attestation-badge .badge.bad")
    expect(badge).to_have_text("certification invalidated")
    assert restated["entryId"] in (badge.get_attribute("title") or "")
