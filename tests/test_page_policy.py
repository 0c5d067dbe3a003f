"""Witness policies on the buyer page, in headless Chromium: ``policy.js`` gives the
shared vectors' verdicts (the same as ``TlogPolicy``), and a pasted tlog-policy makes
each proof also need the checkpoint's witness quorum, checked in the browser with
WebCrypto Ed25519 over real cosignatures the ledger received over gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from clients.audit.rpc import LedgerRpc
from ledger.keys import new_private_key
from ledger.note import Checkpoint, CosignatureSigner, NoteVerifier, open_checkpoint
from tests import test_page as page_test
from tests.page_support import DemoSite, demo_site
from tests.policy_vectors import load_vectors
from tests.test_audit_policy import cosign, policy_text
from tests.test_page import _log_in

# test_page's fixtures: the browser (module scope) and a page that fails on script errors.
browser, page = page_test.browser, page_test.page

WITNESSES = {n: CosignatureSigner(f"{n}.example", new_private_key()) for n in ("w1", "w2", "w3")}
PACK = "a.product-link:has-text('LFP battery pack 60 kWh')"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The demo chain, its latest checkpoint cosigned by w1 and w2 (not w3)."""
    configured = tuple(w.vkey for w in WITNESSES.values())
    with demo_site(tmp_path_factory.mktemp("policy"), witnesses=configured) as started:
        rpc = LedgerRpc(started.server.grpc_target)
        for name in ("w1", "w2"):
            cosign(rpc, started.server.vkey, WITNESSES[name])
        rpc.close()
        yield started


def test_policy_js_gives_the_shared_verdicts(site: DemoSite, page: Page) -> None:
    vectors = load_vectors()
    page.goto(site.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    got: list[dict[str, Any]] = page.evaluate(
        """async ({ ledgerVkey, notes, cases }) => {
            const out = [];
            for (const c of cases) {
                let policy;
                try {
                    policy = await WitnessPolicy.parse(c.text);
                } catch (err) {
                    out.push({ name: c.name, invalid: err.message,
                               typed: err instanceof WitnessPolicy.PolicyError });
                    continue;
                }
                const verdicts = {};
                for (const name of Object.keys(c.verdicts)) {
                    const v = await WitnessPolicy.check(policy, notes[name], [ledgerVkey]);
                    verdicts[name] = v.ok ? { cosigners: v.cosigners } : { reason: v.reason };
                }
                out.push({ name: c.name, verdicts });
            }
            return out;
        }""",
        vectors.as_json(),
    )
    assert [g["name"] for g in got] == [c.name for c in vectors.cases]
    for case, result in zip(vectors.cases, got, strict=True):
        if case.invalid is not None:
            assert "invalid" in result, (case.name, result)
            assert case.invalid in result["invalid"] and result["typed"], (case.name, result)
        else:
            assert result.get("verdicts") == case.verdicts, case.name


def _use_policy(tab: Page, text: str) -> None:
    if tab.locator("#policy-box").get_attribute("open") is None:
        tab.locator("#policy-box summary").click()
    tab.fill("#policy-text", text)
    tab.click("#policy-save")


def _proof(tab: Page) -> Any:
    """The pack's proof status, opened from the product list."""
    tab.evaluate("location.hash = '#/'")
    tab.click(PACK)
    return tab.locator("#proof .proof-status")


def test_the_page_checks_the_witness_quorum(site: DemoSite, page: Page) -> None:
    vkey = site.server.vkey
    _log_in(page, site, site.client_secret)
    expect(page.locator("#policy-summary")).to_have_text("none (cosignatures not checked)")
    _use_policy(page, policy_text(vkey, WITNESSES, "group q 2 w1 w2 w3", "quorum q"))
    expect(page.locator("#policy-summary")).to_have_text("quorum q of 3 witnesses, 1 log key")
    status = _proof(page)
    expect(status).to_contain_text(", verified")
    expect(page.locator("#proof li", has_text="witness quorum met (w1, w2)")).to_have_count(1)

    # Kept in the browser: after a reload the policy is still in force, and one that w3
    # must cosign refuses the proof, naming the missing witness.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#policy-summary")).to_have_text("quorum q of 3 witnesses, 1 log key")
    _log_in(page, site, site.client_secret)
    _use_policy(page, policy_text(vkey, WITNESSES, "group q all w1 w2 w3", "quorum q"))
    status = _proof(page)
    expect(status).to_contain_text("NOT verified")
    expect(status).to_contain_text(
        "the checkpoint does not satisfy the witness policy: "
        "quorum 3-of-3 not met: cosigned by w1, w2; missing w3"
    )
    # A policy that cannot be parsed is refused in place, naming its line.
    _use_policy(page, "quorum w9\n")
    expect(page.locator("#policy-error")).to_have_text(
        "This policy cannot be used: policy line 1: quorum 'w9' is not defined above it"
    )
    page.click("#policy-clear")
    expect(page.locator("#policy-summary")).to_have_text("none (cosignatures not checked)")
    expect(page.locator("#proof li", has_text="witness")).to_have_count(0)
    expect(_proof(page)).to_contain_text(", verified")


def test_forged_cosignature_lines_do_not_count(site: DemoSite, page: Page) -> None:
    vkey = site.server.vkey
    body = open_checkpoint(site.server.checkpointer.latest_note(), NoteVerifier.from_vkey(vkey))
    impostor = CosignatureSigner("w3.example", new_private_key())  # w3's name, another key
    elsewhere = Checkpoint(body.origin, body.size + 1, bytes(32))
    forged_lines = {
        "impostor": impostor.cosign(body.to_text(), 1_767_225_800),
        "copied": WITNESSES["w3"].cosign(elsewhere.to_text(), 1_767_225_800),
    }
    extra = {"line": ""}

    def with_line(route: Route) -> None:
        note = route.fetch().text() + extra["line"]
        route.fulfill(status=200, content_type="text/plain", body=note)

    page.route("**/v1/checkpoint", with_line)
    _log_in(page, site, site.client_secret)
    _use_policy(page, policy_text(vkey, WITNESSES, "group q all w1 w2 w3", "quorum q"))
    extra["line"] = forged_lines["impostor"]
    status = _proof(page)
    expect(status).to_contain_text("quorum 3-of-3 not met: cosigned by w1, w2; missing w3")
    extra["line"] = forged_lines["copied"]
    _use_policy(page, policy_text(vkey, WITNESSES, "group q any w1 w3", "quorum q"))
    status = _proof(page)
    expect(status).to_contain_text("NOT verified")
    expect(status).to_contain_text("signature by known key w3.example does not verify")
