"""Check 12: every zero-carbon evaluation recomputed from the log, and compared with what
a gateway serves.

During a whole-log replay the rules' in-memory view keeps the entries the site rows
name (site inventories, generation batches, retirements for or generated at a site,
site attestations: a small part of a log; ``MemoryCarbonView.site_record``, which the
rule checking a ``site.attestation`` reads too) and, at the end, the auditor
evaluates every (site, year) with an inventory or an attestation through
``ledger.zero_carbon`` over the replay's own in-memory site rows and those records,
with the leaf hashes it recomputed. Each evaluation is rendered as the gateway renders
one (``gateway.zero_carbon_body.evaluation_out``: code, which no database change
alters).

* A verifier's ``site.attestation`` that no longer matches its site-year's evaluation
  (a restated inventory, a new retirement) is listed as invalidated, with why: a fact
  about the programme, not a failure of the ledger.
* With a gateway, each site-year is fetched as of the checkpoint (``atSize``); an
  evaluation served otherwise than the log gives (a derived row deleted or repointed,
  a number changed) is a failure, named by site, year and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from clients.audit.model import Check, Failure
from clients.audit.served import differences_shown
from gateway.zero_carbon_body import evaluation_out
from ledger.entries import Entry
from ledger.entries.carbon.sites import SiteAttestation
from ledger.entries.carbon.targets import Inventory
from ledger.rules.view import CarbonView
from ledger.zero_carbon import SiteReader, evaluate_site, site_attestations

ServedEvaluation = Callable[[str, int, int], dict[str, Any] | None]
"""(site, year, log size) -> the evaluation a gateway serves, or None when it says none."""


@dataclass(frozen=True)
class ZeroCarbonFinding:
    """A site-year's recomputed evaluation (``expected``: as a gateway must serve it)."""

    site: str
    year: int
    expected: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        e = self.expected
        return {
            "site": self.site,
            "year": self.year,
            "owner": e["owner"],
            "level": e["level"],
            "factoryType": e["factoryType"],
            "flags": [f["code"] for f in e["flags"]],
            "attestations": [
                {k: a[k] for k in ("entryId", "verifier", "level", "status", "reasons")}
                for a in e["attestations"]
            ],
        }

    def __str__(self) -> str:
        e = self.expected
        rated = f"{e['level']}" + (f" type {e['factoryType']}" if e["factoryType"] else "")
        lines = [f"site {self.site} {self.year}: {rated}"]
        lines.extend(f"    flag {f['code']}: {f['message']}" for f in e["flags"])
        for a in e["attestations"]:
            why = f": {'; '.join(a['reasons'])}" if a["reasons"] else ""
            lines.append(f"    attestation {a['entryId']} by {a['verifier']}: {a['status']}{why}")
        return "\n".join(lines)


class ZeroCarbonRecompute:
    """Collects the site-years during the replay; evaluates once at the end."""

    def __init__(self) -> None:
        self._site_years: set[tuple[str, int]] = set()

    def applied(self, entry: Entry, seq: int, timestamp_us: int) -> None:
        """Called for every entry the replay applied (it passed every check)."""
        if isinstance(entry, Inventory) and entry.site is not None:
            self._site_years.add((entry.site, entry.reportingYear))
        elif isinstance(entry, SiteAttestation):
            self._site_years.add((entry.site, entry.year))

    def findings(self, view: CarbonView, size: int) -> list[ZeroCarbonFinding]:
        """Every site-year's evaluation from the replay (``view``: its site rows and the
        records they name, with the leaves it recomputed), by site and year."""
        reader = SiteReader(view, view.site_record)
        found = []
        for site, year in sorted(self._site_years):
            owner = view.site_owner(site)
            assert owner is not None, "the replay applied an entry for a site not enrolled"
            evaluation = evaluate_site(reader, site, year)
            attestations = site_attestations(reader, site, year)
            body = evaluation_out(evaluation, owner, size, attestations)
            found.append(ZeroCarbonFinding(site, year, body.model_dump(mode="json")))
        return found


def compare_served(
    findings: list[ZeroCarbonFinding], served: ServedEvaluation, size: int
) -> Iterator[Failure]:
    """A failure for each site-year a gateway serves otherwise than the log gives."""
    for finding in findings:
        have = served(finding.site, finding.year, size)
        where = f"the zero-carbon evaluation of site {finding.site} for {finding.year}"
        if have is None:
            yield Failure(Check.SERVED_EVALUATION, f"{where} is not served to the auditor")
            continue
        altered = differences_shown(finding.expected, have)
        if altered is not None:
            yield Failure(Check.SERVED_EVALUATION, f"{where} is served altered: {altered}")
