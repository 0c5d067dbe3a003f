"""Check 12: ``carbonledger audit`` recomputes every zero-carbon evaluation from the log
and compares it with what a running gateway serves (issue 19), on SQLite and
PostgreSQL.

A rating whose inputs changed is reported invalidated, and the audit still passes; an
evaluation the gateway serves otherwise than the log gives (a site row deleted by an
insider while it runs) fails the audit, named by site, year and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import Result

from ledger.keys import save_private_key
from tests import site_builders as sb
from tests.ledger_fixtures import AUDITOR, SUPPLIER, enroll
from tests.test_audit_derived import run_audit, sql
from tests.test_gateway_support import Env, environment
from tests.zero_carbon_support import FIVE, THREE, UNBACKED, VERIFIER, attest, record_programme


@contextmanager
def _audited(tmp_path: Path, db_url: str) -> Iterator[tuple[Env, list[str]]]:
    """The programme, FIVE rated by VERIFIER, and the audit's arguments (with gateway)."""
    key_file = tmp_path / "auditor.key"
    with environment(tmp_path, db_url) as env:
        env.orgs[VERIFIER] = enroll(env.ledger, env.operator, VERIFIER, "verifier")
        record_programme(env)
        with env.client(SUPPLIER) as owner:
            served = owner.get(f"/v1/sites/{FIVE}/zero-carbon", params={"year": 2024}).json()
        attest(env, VERIFIER, FIVE, SUPPLIER, served)
        save_private_key(env.orgs[AUDITOR].private_key, key_file)
        client_id, secret = env.credentials(AUDITOR)
        yield (
            env,
            [
                *("--ledger", env.server.grpc_target, "--ledger-key", env.server.vkey),
                *("--key", str(key_file), "--org", AUDITOR, "--gateway", env.url),
                *("--client-id", client_id, "--client-secret", secret, "--json"),
            ],
        )


def _report(result: Result) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(result.output)
    return report


def _by_site_year(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(f["site"], f["year"]): f for f in report["zeroCarbon"]}


def test_every_evaluation_recomputed_and_a_stale_rating_reported(
    tmp_path: Path, db_url: str
) -> None:
    with _audited(tmp_path, db_url) as (env, args):
        honest = run_audit(*args)
        assert honest.exit_code == 0, honest.output
        found = _by_site_year(_report(honest))
        # The supplier restates the rated year: the rating no longer stands.
        env.submit(SUPPLIER, sb.site_inventory(SUPPLIER, FIVE, 2024, scope1TCO2e="90"))
        later = run_audit(*args)
    assert set(found) == {(s, y) for s in (FIVE, THREE, UNBACKED) for y in (2023, 2024)}
    assert {k: (v["level"], v["factoryType"]) for k, v in found.items() if k[1] == 2024} == {
        (FIVE, 2024): ("five-star", "I"),
        (THREE, 2024): ("three-star", "I"),
        (UNBACKED, 2024): ("none", None),
    }
    assert found[(UNBACKED, 2024)]["flags"] == ["unbacked-renewable-claim"]
    assert [a["status"] for a in found[(FIVE, 2024)]["attestations"]] == ["current"]
    # An invalidated rating is a finding, not a failure: the audit still passes.
    assert later.exit_code == 0, later.output
    (rated,) = _by_site_year(_report(later))[(FIVE, 2024)]["attestations"]
    assert rated["status"] == "invalidated"
    assert any("is an input it did not rate" in reason for reason in rated["reasons"])


def test_an_evaluation_served_altered_fails_the_audit(tmp_path: Path, db_url: str) -> None:
    """An insider deletes FIVE's certificate row while the gateway runs: the gateway
    now serves no renewable electricity and a lower level; the replay does not."""
    with _audited(tmp_path, db_url) as (_env, args):
        assert run_audit(*args).exit_code == 0
        sql(
            db_url,
            "DELETE FROM site_input WHERE site = :s AND kind = 'retirement' AND seq = "
            "(SELECT MIN(seq) FROM site_input WHERE site = :s AND kind = 'retirement')",
            s=FIVE,
        )
        report = run_audit(*args)
    assert report.exit_code == 1, report.output
    failures = _report(report)["failures"]
    assert {f["check"] for f in failures} == {"served-evaluation"}, failures
    (failure,) = failures
    reason = failure["reason"]
    assert reason.startswith(
        f"the zero-carbon evaluation of site {FIVE} for 2024 is served altered: "
    ), reason
    assert 'field level: served "none", log gives "five-star"' in reason, reason
