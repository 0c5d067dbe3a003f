"""The zero-carbon factory programme: evaluating a site-year from signed data.

``evaluate_site(reader, site, year)`` gathers the site's inputs through the ledger's
indexed site rows and evaluates them; ``evaluate(inputs)`` is the pure method;
``attestation_status`` decides whether a verifier's rating is still current. The
method and its sources are in docs/zero-carbon.md.
"""

from ledger.zero_carbon.attestation import (
    AttestationStatus,
    attestation_status,
    result_digest,
    result_summary,
)
from ledger.zero_carbon.evaluate import Comparison, Evaluation, Flag, Rating, evaluate
from ledger.zero_carbon.gather import (
    RecordedEntry,
    SiteReader,
    UnknownSiteError,
    evaluate_site,
    gather,
    site_attestations,
)
from ledger.zero_carbon.inputs import (
    GenerationInput,
    InputRef,
    InventoryInput,
    RetirementInput,
    SiteYearInputs,
)
from ledger.zero_carbon.levels import THRESHOLDS, Level, Threshold

__all__ = [
    "THRESHOLDS",
    "AttestationStatus",
    "Comparison",
    "Evaluation",
    "Flag",
    "GenerationInput",
    "InputRef",
    "InventoryInput",
    "Level",
    "Rating",
    "RecordedEntry",
    "RetirementInput",
    "SiteReader",
    "SiteYearInputs",
    "Threshold",
    "UnknownSiteError",
    "attestation_status",
    "evaluate",
    "evaluate_site",
    "gather",
    "result_digest",
    "result_summary",
    "site_attestations",
]
