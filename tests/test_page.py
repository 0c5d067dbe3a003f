"""The buyer page in headless Chromium (Debian's ``chromium``) over a real ledger and
gateway loaded with the demo battery chain: what a person sees after logging in."""

from __future__ import annotations

import copy
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from clients.demo.identities import BY_KEY
from clients.sdk import LedgerClient, OrgSigner
from ledger.note import Checkpoint, NoteSigner, sign_checkpoint
from tests.page_support import DemoSite, demo_site
from tests.test_gateway_support import footprint_entry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAGE_NAMES = (
    "Raw material acquisition and pre-processing",
    "Main product production",
    "Distribution",
    "End of life and recycling",
)
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    with demo_site(tmp_path_factory.mktemp("page")) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            ".ci/run installs it in CI",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _api(site: DemoSite, footprint_id: str | None = None) -> dict[str, Any]:
    """What the gateway says about the pack (or another footprint), to compare with what
    the page shows."""
    footprint_id = footprint_id or site.pack_id
    token = httpx.post(
        f"{site.url}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(site.client_id, site.client_secret),
    ).json()["access_token"]
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"}) as http:
        footprint = http.get(f"/3/footprints/{footprint_id}").json()["data"]
        computed = http.get(f"/v1/footprints/{footprint_id}/computed").json()
        tree = http.get(f"/v1/footprints/{footprint_id}/contributions?depth=8&cutoff=0.5").json()
    (record,) = [
        e["data"]
        for e in footprint["extensions"]
        if e["dataSchema"] == "urn:carbonledger:extension:ledger-record:1.0.0"
    ]
    return {"record": record, "computed": computed, "tree": tree}


def _footprint_ids(node: dict[str, Any]) -> set[str]:
    """The footprint ids a contribution tree names."""
    own = {node["footprintId"]} if node["footprintId"] else set()
    return own.union(*(_footprint_ids(child) for child in node["children"]))


def _log_in(page: Page, site: DemoSite, secret: str) -> None:
    page.goto(site.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#client-id", site.client_id)
    page.fill("#client-secret", secret)
    page.click("#login-button")


def test_buyer_sees_the_pack_footprint_with_verified_proofs(
    site: DemoSite, page: Page, tmp_path: Path
) -> None:
    truth = _api(site)
    computed, record = truth["computed"], truth["record"]
    size = site.server.store.tree_size()

    _log_in(page, site, site.client_secret)
    # The product list: what is shared with the buyer (the pack and the cell in detail, the
    # cathode at summary level).
    rows = page.locator("#product-list tr.product-row")
    expect(rows).to_have_count(3)
    expect(page.locator("#product-list")).to_contain_text("LFP battery pack 60 kWh")
    expect(page.locator("#product-list")).to_contain_text("LFP prismatic cell 280 Ah")
    expect(page.locator("#products-status")).to_contain_text("3 footprints shared")
    page.screenshot(path=str(tmp_path / "list.png"))

    page.click("a.product-link:has-text('LFP battery pack 60 kWh')")
    expect(page.locator("#product-name")).to_have_text("LFP battery pack 60 kWh")
    total = float(computed["total"])
    expect(page.locator("#total")).to_have_text(f"{total:.2f}kgCO2e/kWh")
    assert 61 <= total <= 106

    # The four EU Battery Regulation stages with their shares of the total.
    stages = page.locator("#stages")
    for name in STAGE_NAMES:
        expect(stages).to_contain_text(name)
    shares = page.locator(".stage-share")
    expect(shares).to_have_count(4)
    shown = [float(s.replace("%", "").strip()) for s in shares.all_inner_texts()]
    expected = [
        round(float(computed["byStage"][key]) / total * 100, 1)
        for key in (
            "raw-material-acquisition",
            "main-production",
            "distribution",
            "end-of-life-recycling",
        )
    ]
    # Suppliers beyond what is shared with the buyer count as one undisclosed share.
    hidden = page.locator(".undisclosed-share")
    expect(hidden).to_have_count(1)
    hidden_share = float(hidden.inner_text().replace("%", "").strip())
    assert hidden_share == round(float(computed["byStage"]["undisclosed"]) / total * 100, 1)
    assert shown == expected and abs(sum(shown) + hidden_share - 100) < 0.3

    pds = float(computed["primaryDataShare"])
    expect(page.locator("#primary-data-share")).to_have_text(f"{pds:.1f}%")
    # The pack's entry declares no end-of-life method: cut-off.
    assert computed["endOfLife"] == {"method": "cut-off", "inputs": []}
    expect(page.locator("#end-of-life-method")).to_contain_text("Cut-off")

    # Attestations: the cell maker's ISO 14067 verification, upstream of the pack.
    attestations = page.locator("#attestations .attestation")
    expect(attestations.first).to_contain_text("ISO14067")
    expect(attestations.first).to_contain_text("limited assurance")
    expect(attestations.first).to_contain_text("LFP prismatic cell 280 Ah")

    # The footprint's proof, recomputed in the browser against the signed checkpoint.
    proof = page.locator("#proof .proof-status")
    expect(proof).to_have_text(
        f"✔ recorded at seq {record['seq']}, included in checkpoint of size {size}, verified"
    )
    checks = page.locator("#proof li")
    expect(checks.filter(has_text="served footprint equals the signed entry")).to_have_count(1)
    signature = page.locator("#proof li", has_text="checkpoint signature")
    expect(signature).to_have_count(1)
    assert re.search(r"verified against the ledger key|carbonledger audit", signature.inner_text())
    expect(page.locator("#ledger-key")).to_have_text(site.server.vkey)

    # The contribution tree: the root and its direct contributors, expandable.
    page.wait_for_selector("#chart[data-ready=true]")
    nodes = page.locator("#chart g.node")
    expect(nodes).to_have_count(1 + len(truth["tree"]["children"]))
    cell = page.locator("#chart g.node[data-depth='1']", has_text="LFP prismatic cell 280 Ah")
    expect(cell).to_have_attribute("aria-expanded", "false")
    cell.click()
    expect(page.locator("#chart g.node[data-depth='1'][aria-expanded=true]")).to_have_count(1)
    cell_children = truth["tree"]["children"][0]["children"]
    expect(nodes).to_have_count(1 + len(truth["tree"]["children"]) + len(cell_children))
    detail = page.locator("#node-detail")
    expect(detail.locator("#node-title")).to_have_text("LFP prismatic cell 280 Ah — LFP Cell Works")
    expect(detail.locator(".proof-status")).to_contain_text(", verified")
    # The cut: the cathode (summary) is named and has no contributors shown; the cell's
    # other suppliers, and the pack's tray maker, are one undisclosed line each.
    cathode = page.locator("#chart g.node[data-depth='2']", has_text="LFP cathode active material")
    expect(cathode).to_have_attribute("data-has-children", "false")
    undisclosed = page.locator("#chart g.node", has_text="Undisclosed upstream suppliers")
    expect(undisclosed).to_have_count(2)
    hidden_ids = set(site.demo.chain.footprint_ids.values()) - _footprint_ids(truth["tree"])
    assert hidden_ids and not any(fid[:8] in page.content() for fid in hidden_ids)
    # Keyboard: Enter on a focused node with contributors closes and opens it.
    cell.focus()
    page.keyboard.press("Enter")
    expect(cell).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(cell).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#chart g.node[data-depth='2']").first).to_be_visible()

    shot = tmp_path / "pack.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")


def test_tampered_checkpoint_shows_a_clear_failure(site: DemoSite, page: Page) -> None:
    def forged(route: Route) -> None:
        original = route.fetch().text()
        lines = original.split("\n")
        lines[2] = "A" * 43 + "="  # another root hash
        route.fulfill(status=200, content_type="text/plain", body="\n".join(lines))

    page.route("**/v1/checkpoint", forged)
    _log_in(page, site, site.client_secret)
    page.click("a.product-link:has-text('LFP battery pack 60 kWh')")
    status = page.locator("#proof .proof-status")
    expect(status).to_contain_text("NOT verified")
    expect(status).to_contain_text("the inclusion proof does not lead to the checkpoint root")
    # The verifier itself: a correct proof verifies, one flipped bit does not.
    verdict = page.evaluate(
        """async () => {
            const leaf = (b) => LedgerProof.sha256(Uint8Array.of(0, b));
            const node = async (l, r) => LedgerProof.sha256(
                Uint8Array.from([1, ...l, ...r]));
            const [a, b, c] = await Promise.all([leaf(1), leaf(2), leaf(3)]);
            const root = await node(await node(a, b), c);
            const good = await LedgerProof.verifyInclusion(c, 2, 3, [await node(a, b)], root);
            const bad = Uint8Array.from(a); bad[0] ^= 1;
            const wrong = await LedgerProof.verifyInclusion(b, 1, 3, [bad, c], root);
            const right = await LedgerProof.verifyInclusion(b, 1, 3, [a, c], root);
            return [good, right, wrong];
        }"""
    )
    assert verdict == [True, True, False]


def test_checkpoint_signature_check_in_the_browser(site: DemoSite, page: Page) -> None:
    """A key whose base64 holds "+" (the vkey's field separator) and a forged note."""
    seed = 0
    while True:
        signer = NoteSigner(
            "example.test/log", Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        )
        if "+" in signer.vkey.split("+", 2)[2]:
            break
        seed += 1
    note = sign_checkpoint(Checkpoint("example.test/log", 3, bytes(range(32))), signer)
    forged = note.replace("\n3\n", "\n4\n", 1)
    page.goto(site.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    good, bad = page.evaluate(
        """async ([note, forged, vkey]) => [
            await LedgerProof.verifyNoteSignature(LedgerProof.parseNote(note), vkey),
            await LedgerProof.verifyNoteSignature(LedgerProof.parseNote(forged), vkey),
        ]""",
        [note, forged, signer.vkey],
    )
    # Chromium with Ed25519 in WebCrypto verifies; without it the page defers to the audit.
    assert (good, bad) in (("verified", "failed"), ("unsupported", "unsupported"))


def test_wrong_secret_shows_an_error_and_no_data(
    site: DemoSite, page: Page, tmp_path: Path
) -> None:
    _log_in(page, site, "not-the-secret")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("Login failed: the client id or secret is wrong.")
    expect(page.locator("#products")).to_be_hidden()
    expect(page.locator("#product")).to_be_hidden()
    expect(page.locator("#product-list tr.product-row")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("LFP battery pack")
    page.screenshot(path=str(tmp_path / "wrong-secret.png"))


def test_a_footprint_depending_on_an_impossible_loop_shows_why(
    browser: Browser, page: Page, tmp_path: Path
) -> None:
    """The cell maker closes a loop of its own products that consumes one unit of itself
    and makes its cell consume it: the pack (detail) shows the gateway's 422 message in
    place of its figures, and its proof still."""
    with demo_site(tmp_path) as site:
        cell_org = BY_KEY["cell"].org_id
        cell = OrgSigner.load(site.demo.key_files["cell"], org=cell_org)
        old_id = site.demo.chain.footprint_ids["lfp-cell"]
        (old,) = [
            s.entry
            for s in site.demo.chain.steps
            if s.entry.get("footprint", {}).get("id") == old_id
        ]
        with LedgerClient(site.server.grpc_target) as ledger:
            products = ("urn:pact:product:cell:loop-1", "urn:pact:product:cell:loop-2")
            for product, other in (products, products[::-1]):
                entry = footprint_entry(cell_org, product, unit="kilogram")
                entry["composition"]["inputs"] = [
                    {"productId": other, "companyId": cell_org, "amount": "1", "unit": "kilogram"}
                ]
                ledger.submit(cell.sign(entry))
            successor = copy.deepcopy(old)
            successor["entryId"] = str(uuid.uuid4())
            successor["footprint"]["id"] = str(uuid.uuid4())
            successor["footprint"]["precedingPfIds"] = [old_id]
            successor["composition"]["inputs"].append(
                {
                    "productId": products[0],
                    "companyId": cell_org,
                    "amount": "0.1",
                    "unit": "kilogram",
                }
            )
            ledger.submit(cell.sign(successor))
        site.server.checkpointer.refresh()

        _log_in(page, site, site.client_secret)
        page.click("a.product-link:has-text('LFP battery pack 60 kWh')")
        expect(page.locator("#product-name")).to_have_text("LFP battery pack 60 kWh")
        body = page.locator("#product-body")
        expect(body).to_contain_text(
            f"no physical solution: footprint {site.pack_id} depends on a loop of 2 footprint(s)"
        )
        expect(page.locator("#total")).to_have_count(0)
        expect(page.locator("#error")).to_be_hidden()
        expect(page.locator("#proof")).to_contain_text("inclusion proof")
        expect(page.locator("#contributions")).to_contain_text("without a computed footprint")
        page.screenshot(path=str(tmp_path / "loop.png"))


def test_a_cff_footprint_shows_its_method_and_parameters(
    browser: Browser, page: Page, tmp_path: Path
) -> None:
    """The cell maker supersedes its cell with one that declares the Circular Footprint
    Formula for its cathode: the buyer (detail on the cell's product line) sees the method
    and the line's parameters next to the computed total."""
    with demo_site(tmp_path) as site:
        cell_org = BY_KEY["cell"].org_id
        cell = OrgSigner.load(site.demo.key_files["cell"], org=cell_org)
        old_id = site.demo.chain.footprint_ids["lfp-cell"]
        (old,) = [
            s.entry
            for s in site.demo.chain.steps
            if s.entry.get("footprint", {}).get("id") == old_id
        ]
        successor = copy.deepcopy(old)
        successor["entryId"] = str(uuid.uuid4())
        successor["footprint"]["id"] = str(uuid.uuid4())
        successor["footprint"]["precedingPfIds"] = [old_id]
        successor["composition"]["endOfLife"] = {"method": "cff"}
        successor["composition"]["inputs"][0]["cff"] = {
            "A": "0.5",
            "R1": "0.25",
            "Erecycled": "1.4",
            "R2": "0.6",
            "QsinQp": "0.9",
            "QsoutQp": "0.8",
            "ErecyclingEoL": "2",
            "EvStar": "10",
            "ED": "0.5",
        }
        with LedgerClient(site.server.grpc_target) as ledger:
            ledger.submit(cell.sign(successor))
        site.server.checkpointer.refresh()
        computed = _api(site, successor["footprint"]["id"])["computed"]
        assert computed["endOfLife"]["method"] == "cff"

        _log_in(page, site, site.client_secret)
        page.click(f"a.product-link[href='#/footprint/{successor['footprint']['id']}']")
        expect(page.locator("#product-name")).to_have_text("LFP prismatic cell 280 Ah")
        expect(page.locator("#total")).to_have_text(f"{float(computed['total']):.2f}kgCO2e/kWh")
        section = page.locator("#end-of-life")
        expect(page.locator("#end-of-life-method")).to_contain_text("Circular Footprint Formula")
        cells = section.locator("table.cff tbody td")
        expect(cells).to_have_count(14)
        shown = cells.all_inner_texts()
        assert shown[:4] == ["0", "0.5", "0", "0.25"]  # input line, A, B, R1
        assert shown[-3:] == ["10", "0.5", "none"]  # E*v, ED, energy recovery
        page.screenshot(path=str(tmp_path / "cff.png"))


STRAY = re.compile(r"\b(null|undefined|NaN)\b|\[object ")


def _tree_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a contribution tree, root first."""
    return [node, *(n for child in node["children"] for n in _tree_nodes(child))]


def _png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of a PNG's pixel data (a
    blank image has very few)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


def test_node_panel_explains_every_node_with_units_and_no_failed_request(
    site: DemoSite, page: Page, tmp_path: Path
) -> None:
    truth = _api(site)
    tree = truth["tree"]
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))

    # The API names each line's unit and, for factor lines, what the factor states.
    factor_lines = [n for n in _tree_nodes(tree) if n["kind"] == "factor"]
    assert factor_lines and all(n["factor"] for n in factor_lines)
    grid = factor_lines[0]["factor"]
    assert grid["key"] == "electricity-grid-cn" and grid["gasCoverage"] == "CO2"
    assert (grid["value"], grid["unit"]) == ("0.5366", "kilowatt hour")
    assert all(n["unit"] for n in _tree_nodes(tree) if n["kind"] == "footprint")

    _log_in(page, site, site.client_secret)
    page.click("a.product-link:has-text('LFP battery pack 60 kWh')")
    page.wait_for_selector("#chart[data-ready=true]")
    expect(page.locator("#total-method")).to_contain_text("cut-off")
    used = page.locator("#factors-used")
    expect(used.locator(".factor-value").first).to_have_text("0.5366 kgCO2/kWh")
    expect(used.locator(".factor-gases").first).to_have_text("CO2 only")
    expect(used).to_contain_text(grid["source"])
    expect(page.locator("#co2-only-note")).to_be_visible()

    nodes = page.locator("#chart g.node")
    page.click("#expand-all")
    every = _tree_nodes(tree)
    expect(nodes).to_have_count(len(every))
    expect(page.locator("#chart g.node[aria-expanded=false]")).to_have_count(0)
    values = page.locator("#chart g.node text.value").all_text_contents()
    assert len(values) == len(every) and all("kgCO2e/kWh" in v for v in values)
    labels = page.locator("#chart g.node[data-kind=factor] text.label").all_text_contents()
    assert labels and set(labels) == {"Emission factor: electricity-grid-cn (cn-default 2024.1)"}

    # Each node's panel, leaves before their parents (a click on a parent folds it).
    detail = page.locator("#node-detail")
    panels: dict[str, list[str]] = {}
    for index in reversed(range(len(every))):
        node = nodes.nth(index)
        title = node.locator("title").text_content() or ""
        node.click()
        expect(detail.locator("#node-title")).to_have_text(title)
        if node.get_attribute("data-kind") == "footprint":
            expect(detail.locator(".proof-status")).to_contain_text(", verified")
        text = detail.inner_text()
        assert not STRAY.search(text), f"stray text in the panel of {title!r}: {text!r}"
        assert "kgCO2e/kWh (per kWh of the product)" in text
        panels.setdefault(node.get_attribute("data-kind") or "", []).append(text)
        if node.get_attribute("data-kind") in ("factor", "undisclosed") or "cathode" in title:
            shot = tmp_path / f"panel-{index}.png"
            detail.screenshot(path=str(shot))
            box = detail.bounding_box()
            assert box is not None
            width, height, colours = _png_size_and_colours(shot)
            assert abs(width - box["width"]) < 2 and abs(height - box["height"]) < 2
            assert height > 100 and colours > 16  # drawn text, not a blank panel
    assert set(panels) == {"footprint", "factor", "own", "undisclosed", "other"}
    factor_text = panels["factor"][0]
    for shown in ("0.5366 kgCO2 per kilowatt hour", "CO2 only", grid["source"], grid["method"]):
        assert shown in factor_text
    (cathode,) = [t for t in panels["footprint"] if "LFP cathode active material" in t]
    assert "2.1000 kg" in cathode and "kgCO2e per kilogram" in cathode
    assert all("beyond what is shared with you" in t for t in panels["undisclosed"])

    page.click("#collapse-all")
    expect(nodes).to_have_count(1 + len(tree["children"]))
    expect(page.locator("#chart g.node[data-depth='0']")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#chart g.node[aria-expanded=true]")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "collapsed.png"), full_page=True)
    assert not problems, problems
